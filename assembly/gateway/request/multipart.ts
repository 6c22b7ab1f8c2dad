// multipart/form-data bodies (/v1/audio/transcriptions and /v1/audio/translations), scanned in place in the
// buffered body: the form fields are located by their boundaries, the file part is only searched for the
// next delimiter and never copied. What is read, as Envoy AI Gateway v1.1.0 reads it
// (internal/endpointspec/endpointspec.go ParseMultipartBody over Go's mime/multipart):
//   - the boundary from the content-type's `boundary` parameter (mime.ParseMediaType);
//   - a preamble before the first delimiter line is skipped; a delimiter line is "--boundary", optional
//     spaces or tabs, then CRLF (or LF, decided by the first delimiter line); "--boundary--" ends the form
//     and what follows it is ignored;
//   - a part's headers run to the first empty line; its name is Content-Disposition's `name` when the
//     disposition is form-data (a malformed Content-Disposition names nothing);
//   - a part's content ends at CRLF "--boundary" followed by "--", a space, a tab, CR or LF;
//   - `model` (the last one counts) and a `file` part are required; `stream` is "true" in any case (for
//     transcriptions; translations do not stream).
// Not done: quoted-printable part bodies (Go decodes them) and RFC 2231 parameters (name*=); a boundary
// must be 1 to 70 characters (RFC 2046), which Go does not check.

import { KIND_STRING, KIND_TRUE } from "../json/scan";
import { RequestFacts, hasControlChar } from "./body";

/** Whether a content-type names multipart/form-data (its prefix, in any case, as Envoy AI Gateway checks). */
export function isMultipartFormData(contentType: string | null): bool {
  if (contentType == null || contentType.length < 19) return false;
  return contentType.substring(0, 19).toLowerCase() == "multipart/form-data";
}

/** A `type/subtype; name=value; name="quoted"` header value: the type (lowercased) and its parameters. */
export class MediaType {
  type: string = "";
  names: Array<string> = [];
  values: Array<string> = [];
  /** Set when the parameters are malformed or a name repeats (Go then returns no parameters). */
  error: string = "";

  param(name: string): string | null {
    for (let i = 0; i < this.names.length; i++) if (this.names[i] == name) return this.values[i];
    return null;
  }
}

/** Parses a media type header value (a subset of Go's mime.ParseMediaType: no RFC 2231 continuations). */
export function parseMediaType(v: string): MediaType {
  const m = new MediaType();
  const n = v.length;
  let i = v.indexOf(";");
  if (i < 0) i = n;
  m.type = v.substring(0, i).trim().toLowerCase();
  if (m.type.length == 0) m.error = "no media type";
  while (i < n && m.error.length == 0) {
    i++; // past ';'
    while (i < n && isSpace(v.charCodeAt(i))) i++;
    if (i == n) break; // a trailing ';' is allowed
    const nameStart = i;
    while (i < n && isTokenChar(v.charCodeAt(i))) i++;
    if (i == nameStart || i == n || v.charCodeAt(i) != 0x3d) {
      m.error = "invalid media parameter";
      break;
    }
    const name = v.substring(nameStart, i).toLowerCase();
    i++; // past '='
    let value = "";
    if (i < n && v.charCodeAt(i) == 0x22) {
      const parts = new Array<string>();
      let from = ++i;
      let closed = false;
      while (i < n) {
        const c = v.charCodeAt(i);
        if (c == 0x22) {
          closed = true;
          break;
        }
        if (c == 0x5c && i + 1 < n) {
          parts.push(v.substring(from, i));
          from = ++i;
        }
        i++;
      }
      if (!closed) {
        m.error = "invalid media parameter";
        break;
      }
      parts.push(v.substring(from, i));
      value = parts.join("");
      i++; // past the closing quote
    } else {
      const valueStart = i;
      while (i < n && isTokenChar(v.charCodeAt(i))) i++;
      if (i == valueStart) {
        m.error = "invalid media parameter";
        break;
      }
      value = v.substring(valueStart, i);
    }
    while (i < n && isSpace(v.charCodeAt(i))) i++;
    if (i < n && v.charCodeAt(i) != 0x3b) {
      m.error = "invalid media parameter";
      break;
    }
    if (m.param(name) != null) {
      m.error = "duplicate parameter name";
      break;
    }
    m.names.push(name);
    m.values.push(value);
  }
  if (m.error.length > 0) {
    m.names = [];
    m.values = [];
  }
  return m;
}

function isSpace(c: i32): bool {
  return c == 0x20 || c == 0x09;
}

/** RFC 2045 token characters: printable ASCII except space and tspecials. */
function isTokenChar(c: i32): bool {
  if (c <= 0x20 || c >= 0x7f) return false;
  switch (c) {
    case 0x28: case 0x29: case 0x3c: case 0x3e: case 0x40: case 0x2c: case 0x3b: case 0x3a:
    case 0x5c: case 0x22: case 0x2f: case 0x5b: case 0x5d: case 0x3f: case 0x3d:
      return false;
  }
  return true;
}

/** The boundary of a multipart/form-data content-type, or null with `error` set. */
export class Boundary {
  value: string = "";
  error: string = "";
}

export function multipartBoundary(contentType: string): Boundary {
  const b = new Boundary();
  const m = parseMediaType(contentType);
  if (m.error.length > 0) {
    b.error = "mime: " + m.error;
    return b;
  }
  const value = m.param("boundary");
  if (value == null || value.length == 0) b.error = "missing boundary";
  else if (value.length > 70 || String.UTF8.byteLength(value) != value.length) b.error = "invalid boundary";
  else b.value = value;
  return b;
}

/**
 * Scans a multipart/form-data body at [ptr, ptr+len) with `boundary`. True when it is well formed and has
 * a `model` and a `file` part: facts.model and facts.modelSpan (the value's bytes, KIND_STRING) are set,
 * and facts.stream (KIND_TRUE) when `canStream` and the form says stream=true. False with facts.error.
 */
export function scanMultipartBody(ptr: usize, len: usize, boundary: string, canStream: bool, facts: RequestFacts): bool {
  facts.reset();
  facts.bodyLength = <i32>len;
  const s = new Scan(ptr, ptr + len, boundary);
  let hasModel = false;
  let hasFile = false;
  let part = s.firstPart();
  while (part == PART) {
    const name = s.partName;
    if (name == "model") {
      hasModel = true;
      facts.modelSpan.set(KIND_STRING, <i32>(s.contentStart - ptr), <i32>(s.contentEnd - ptr), false);
    } else if (name == "file") {
      hasFile = true;
    } else if (name == "stream" && canStream) {
      if (s.contentIs("true")) facts.stream.set(KIND_TRUE, <i32>(s.contentStart - ptr), <i32>(s.contentEnd - ptr), false);
      else facts.stream.clear();
    }
    part = s.nextPart();
  }
  if (part == FAILED) return fail(facts, "failed to parse multipart form data: " + s.error);
  if (!hasModel) return fail(facts, "missing required field 'model'");
  if (!hasFile) return fail(facts, "missing required field 'file'");
  const span = facts.modelSpan;
  if (span.end == span.start) return fail(facts, "field 'model' must not be empty");
  const model = String.UTF8.decodeUnsafe(ptr + <usize>span.start, <usize>(span.end - span.start));
  // The model becomes the x-ai-eg-model header value, which cannot carry control characters.
  if (hasControlChar(model)) return fail(facts, "field 'model' must not contain control characters");
  facts.model = model;
  return true;
}

function fail(facts: RequestFacts, message: string): bool {
  facts.error = message;
  return false;
}

const PART: i32 = 0;
const END: i32 = 1;
const FAILED: i32 = 2;
const NOT_FOUND: usize = usize.MAX_VALUE;

/** A cursor over the body: the current part's name and the bounds of its content. */
class Scan {
  private p: usize;
  /** The line break the first delimiter line used: CRLF (2) or LF (1). */
  private nl: usize = 2;
  /** The content ended right at a delimiter line, without the line break before it. */
  private bare: bool = false;
  private readonly dash: ArrayBuffer;
  partName: string = "";
  contentStart: usize = 0;
  contentEnd: usize = 0;
  error: string = "";

  constructor(
    start: usize,
    private end: usize,
    boundary: string,
  ) {
    this.p = start;
    this.dash = String.UTF8.encode("--" + boundary);
  }

  /** Skips the preamble to the first delimiter line and reads that part (or the end of an empty form). */
  firstPart(): i32 {
    while (true) {
      const lineEnd = this.lineEnd(this.p);
      if (lineEnd == NOT_FOUND) {
        // The last line, without a line break, can only close the form.
        return this.delimiterKind(this.p, this.end, true) == END ? END : this.failed("NextPart: EOF");
      }
      const kind = this.delimiterKind(this.p, lineEnd, true);
      this.p = lineEnd;
      if (kind == END) return END;
      if (kind == PART) return this.readPart();
    }
    return FAILED; // unreachable
  }

  /** After a part's content: the line break, then a delimiter line or the closing one. */
  nextPart(): i32 {
    let lineStart = this.contentEnd;
    if (!this.bare) {
      if (!this.newlineAt(lineStart)) return this.failed("NextPart: EOF");
      lineStart += this.nl;
    }
    const lineEnd = this.lineEnd(lineStart);
    if (lineEnd == NOT_FOUND) {
      return this.delimiterKind(lineStart, this.end, false) == END ? END : this.failed("NextPart: EOF");
    }
    const kind = this.delimiterKind(lineStart, lineEnd, false);
    this.p = lineEnd;
    if (kind == END) return END;
    if (kind == PART) return this.readPart();
    return this.failed("expecting a new Part");
  }

  /** The part after a delimiter line: headers to the empty line, then the content to the next delimiter. */
  private readPart(): i32 {
    this.partName = "";
    let disposition: string | null = null;
    let inDisposition = false;
    let firstLine = true;
    while (true) {
      const lineEnd = this.lineEnd(this.p);
      if (lineEnd == NOT_FOUND) return this.failed("malformed MIME header: EOF");
      let textEnd = lineEnd - 1;
      if (textEnd > this.p && load<u8>(textEnd - 1) == 0x0d) textEnd--;
      const line = this.p;
      this.p = lineEnd;
      if (textEnd == line) break;
      const c = load<u8>(line);
      if (c == 0x20 || c == 0x09) {
        // A continuation of the header before it.
        if (firstLine) return this.failed("malformed MIME header initial line");
        if (inDisposition) disposition = disposition! + " " + String.UTF8.decodeUnsafe(line, textEnd - line).trim();
        continue;
      }
      firstLine = false;
      let colon = line;
      while (colon < textEnd && isTokenChar(load<u8>(colon))) colon++;
      if (colon == line || colon == textEnd || load<u8>(colon) != 0x3a) return this.failed("malformed MIME header line");
      // The first Content-Disposition counts, as Go's Header.Get reads it.
      inDisposition = disposition == null && asciiEqualsIgnoreCase(line, colon, "content-disposition");
      if (inDisposition) disposition = String.UTF8.decodeUnsafe(colon + 1, textEnd - colon - 1).trim();
    }
    if (disposition != null) {
      const m = parseMediaType(<string>disposition);
      const name = m.error.length == 0 && m.type == "form-data" ? m.param("name") : null;
      if (name != null) this.partName = name;
    }
    this.contentStart = this.p;
    const stop = this.contentStop(this.p);
    if (stop == NOT_FOUND) return this.failed("unexpected EOF");
    this.contentEnd = stop;
    return PART;
  }

  /**
   * Where the content starting at `from` ends: at the line break of the next line break + "--boundary"
   * followed by "--", a space, a tab, CR, LF or the end of the body; also, at the very start, at a bare
   * "--boundary" (Go allows an empty part without the line break).
   */
  private contentStop(from: usize): usize {
    const dash = changetype<usize>(this.dash);
    const dashLen = <usize>this.dash.byteLength;
    this.bare = this.matchesAt(from, dash, dashLen) && this.endsDelimiter(from + dashLen);
    if (this.bare) return from;
    const nl = this.nl;
    let q = from;
    while (true) {
      const lf = this.findLf(q);
      if (lf == NOT_FOUND) return NOT_FOUND;
      const nlStart = lf + 1 - nl;
      if (nlStart >= from && (nl == 1 || load<u8>(nlStart) == 0x0d) && this.matchesAt(lf + 1, dash, dashLen) &&
        this.endsDelimiter(lf + 1 + dashLen)) {
        return nlStart;
      }
      q = lf + 1;
    }
    return NOT_FOUND; // unreachable
  }

  /** After "--boundary" at p: "--", a space, a tab, CR, LF, or the end of the body. */
  private endsDelimiter(p: usize): bool {
    if (p >= this.end) return true;
    const c = load<u8>(p);
    if (c == 0x20 || c == 0x09 || c == 0x0d || c == 0x0a) return true;
    return c == 0x2d && p + 1 < this.end && load<u8>(p + 1) == 0x2d;
  }

  /**
   * The line [ls, le) (its line break included, if any): PART for a delimiter line, END for the closing
   * one, FAILED for any other. The first delimiter line decides the line break (CRLF or LF).
   */
  private delimiterKind(ls: usize, le: usize, first: bool): i32 {
    const dashLen = <usize>this.dash.byteLength;
    if (!this.matchesAt(ls, changetype<usize>(this.dash), dashLen) || ls + dashLen > le) return FAILED;
    let q = ls + dashLen;
    const closing = q + 1 < le && load<u8>(q) == 0x2d && load<u8>(q + 1) == 0x2d;
    if (closing) q += 2;
    while (q < le && (load<u8>(q) == 0x20 || load<u8>(q) == 0x09)) q++;
    const rest = le - q;
    const lf = rest == 1 && load<u8>(q) == 0x0a;
    const crlf = rest == 2 && load<u8>(q) == 0x0d && load<u8>(q + 1) == 0x0a;
    if (closing) return rest == 0 || lf || crlf ? END : FAILED;
    if (first && (lf || crlf)) this.nl = lf ? 1 : 2;
    return (lf && this.nl == 1) || (crlf && this.nl == 2) ? PART : FAILED;
  }

  /** The position after the next LF from `p`, or NOT_FOUND. */
  private lineEnd(p: usize): usize {
    const lf = this.findLf(p);
    return lf == NOT_FOUND ? NOT_FOUND : lf + 1;
  }

  /** The next LF from `p` (16 bytes at a time with SIMD: a file is mostly searched, not parsed). */
  private findLf(p: usize): usize {
    const end = this.end;
    let q = p;
    if (ASC_FEATURE_SIMD) {
      const lf = i8x16.splat(0x0a);
      for (; q + 16 <= end; q += 16) {
        const mask = i8x16.bitmask(i8x16.eq(v128.load(q), lf));
        if (mask != 0) return q + <usize>ctz(mask);
      }
    }
    for (; q < end; q++) if (load<u8>(q) == 0x0a) return q;
    return NOT_FOUND;
  }

  private newlineAt(p: usize): bool {
    if (this.nl == 1) return p < this.end && load<u8>(p) == 0x0a;
    return p + 1 < this.end && load<u8>(p) == 0x0d && load<u8>(p + 1) == 0x0a;
  }

  private matchesAt(p: usize, what: usize, n: usize): bool {
    return p + n <= this.end && memory.compare(p, what, n) == 0;
  }

  /** The current part's content equals `s` ASCII case-insensitively (Go's strings.EqualFold, for ASCII). */
  contentIs(s: string): bool {
    return asciiEqualsIgnoreCase(this.contentStart, this.contentEnd, s);
  }

  private failed(message: string): i32 {
    this.error = "multipart: " + message;
    return FAILED;
  }
}

function asciiEqualsIgnoreCase(start: usize, end: usize, s: string): bool {
  if (<i32>(end - start) != s.length) return false;
  for (let i = 0; i < s.length; i++) {
    let c = <i32>load<u8>(start + <usize>i);
    if (c >= 0x41 && c <= 0x5a) c += 0x20;
    if (c != s.charCodeAt(i)) return false;
  }
  return true;
}
