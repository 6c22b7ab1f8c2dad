// multipart/form-data bodies (/v1/audio/transcriptions and /v1/audio/translations), scanned as they arrive:
// each request-body callback hands FormScan the bytes it has not consumed yet, and it keeps no bytes
// itself, only its state and the offset (`keep`) from which it needs the body again. Inside a file part
// that is the last few bytes (where a delimiter may start), so a VM's memory does not grow with the file;
// only the header sections and the values it reads (`model`, `stream`) are held whole until they end.
// What is read, as Envoy AI Gateway v1.1.0 reads it (internal/endpointspec/endpointspec.go
// ParseMultipartBody: multipart.NewReader, Reader.NextPart, Part.FormName, io.ReadAll of a field):
//   - the boundary from the content-type's `boundary` parameter (mime.ParseMediaType);
//   - a preamble before the first delimiter line is skipped; a delimiter line is "--boundary", optional
//     spaces or tabs, then CRLF (or LF, decided by the first delimiter line); "--boundary--" ends the form
//     and what follows it is ignored;
//   - a part's headers run to the first empty line; its name is Content-Disposition's `name` when the
//     disposition is form-data, RFC 2231 forms (name*=utf-8''model, name*0=…) included, as
//     mime.ParseMediaType decodes them (a malformed Content-Disposition names nothing);
//   - NextPart (not NextRawPart) decodes a part whose Content-Transfer-Encoding is quoted-printable: the
//     values read (`model`; `stream` for transcriptions) are decoded as Go's mime/quotedprintable Reader
//     does, its errors becoming "failed to read model field: …";
//   - a part's content ends at CRLF "--boundary" followed by "--", a space, a tab, CR or LF;
//   - `model` (the last one counts) and a `file` part are required; `stream` is "true" in any case (for
//     transcriptions; translations do not stream).
// The request is decided at the form's end, not once `model` has been read: Envoy AI Gateway reads the
// whole form before it routes and answers a missing file or a malformed part after the model with 400, so
// routing on the model alone would change those answers (it routes no JSON body before its end either).
// Not done: the quoted-printable decoding of a file part is not checked (Go's io.Copy of it would fail on a
// bad escape), nor are the other fields Go reads (language, prompt, temperature …); a boundary must be 1 to
// 70 characters (RFC 2046), which Go does not check.

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
  /** Set when the type or the parameters are malformed or a name repeats (Go then returns no parameters). */
  error: string = "";

  param(name: string): string | null {
    for (let i = 0; i < this.names.length; i++) if (this.names[i] == name) return this.values[i];
    return null;
  }

  private set(name: string, value: string): void {
    const i = this.names.indexOf(name);
    if (i >= 0) this.values[i] = value;
    else {
      this.names.push(name);
      this.values.push(value);
    }
  }

  /**
   * RFC 2231: `name*` (charset'language'percent-encoded) or the continuations `name*0`, `name*1*`, … make
   * `name`, overriding a plain one; an undecodable `name*` leaves it as it was (Go's mime.ParseMediaType).
   */
  stitch(keys: Array<string>, values: Array<string>): void {
    const done = new Array<string>();
    for (let k = 0; k < keys.length; k++) {
      const star = keys[k].indexOf("*");
      if (star < 0) continue;
      const base = keys[k].substring(0, star);
      if (done.includes(base)) continue;
      done.push(base);
      const single = keys.indexOf(base + "*");
      if (single >= 0) {
        const decoded = decode2231(values[single]);
        if (decoded != null) this.set(base, decoded);
        continue;
      }
      let joined = "";
      let valid = false;
      for (let n = 0; ; n++) {
        const simple = base + "*" + n.toString();
        let i = keys.indexOf(simple);
        if (i >= 0) {
          joined += values[i];
          valid = true;
          continue;
        }
        i = keys.indexOf(simple + "*");
        if (i < 0) break;
        valid = true;
        const decoded = n == 0 ? decode2231(values[i]) : percentUnescape(values[i]);
        if (decoded != null) joined += decoded;
      }
      if (valid) this.set(base, joined);
    }
  }
}

/** Parses a media type header value as Go's mime.ParseMediaType does. */
export function parseMediaType(v: string): MediaType {
  const m = new MediaType();
  const n = v.length;
  let i = v.indexOf(";");
  if (i < 0) i = n;
  const type = v.substring(0, i).toLowerCase().trim();
  const typeError = checkMediaType(type);
  if (typeError != null) {
    m.error = typeError;
    return m;
  }
  m.type = type;
  const keys = new Array<string>();
  const values = new Array<string>();
  while (i < n) {
    i = skipSpaces(v, i);
    if (i == n) break;
    const next = consumeParam(v, i);
    if (next < 0) {
      if (v.substring(i).trim() == ";") break; // a trailing ';' is allowed
      m.error = "invalid media parameter";
      return m;
    }
    if (keys.includes(paramName)) {
      m.type = "";
      m.error = "duplicate parameter name";
      return m;
    }
    keys.push(paramName);
    values.push(paramValue);
    i = next;
  }
  for (let k = 0; k < keys.length; k++) {
    if (keys[k].indexOf("*") < 0) {
      m.names.push(keys[k]);
      m.values.push(values[k]);
    }
  }
  m.stitch(keys, values);
  return m;
}

/** A type is a token, or token/token (Go's checkMediaTypeDisposition); null when it is one. */
function checkMediaType(s: string): string | null {
  const t = tokenEnd(s, 0);
  if (t == 0) return "no media type";
  if (t == s.length) return null;
  if (s.charCodeAt(t) != 0x2f) return "expected slash after first token";
  const sub = tokenEnd(s, t + 1);
  if (sub == t + 1) return "expected token after slash";
  return sub == s.length ? null : "unexpected content after media subtype";
}

let paramName = "";
let paramValue = "";

/** `; name = value` from `i` (Go's consumeMediaParam): the index after it with paramName/paramValue, or -1. */
function consumeParam(v: string, i: i32): i32 {
  const n = v.length;
  i = skipSpaces(v, i);
  if (i == n || v.charCodeAt(i) != 0x3b) return -1;
  i = skipSpaces(v, i + 1);
  const nameEnd = tokenEnd(v, i);
  if (nameEnd == i) return -1;
  paramName = v.substring(i, nameEnd).toLowerCase();
  i = skipSpaces(v, nameEnd);
  if (i == n || v.charCodeAt(i) != 0x3d) return -1;
  i = skipSpaces(v, i + 1);
  if (i == n) return -1;
  if (v.charCodeAt(i) != 0x22) {
    const valueEnd = tokenEnd(v, i);
    if (valueEnd == i) return -1;
    paramValue = v.substring(i, valueEnd);
    return valueEnd;
  }
  // A quoted-string: a backslash escapes only a character that is not a token character (Go keeps it
  // before a token character, for MSIE's unescaped file paths); CR and LF are not allowed.
  const parts = new Array<string>();
  let from = i + 1;
  for (let k = i + 1; k < n; k++) {
    const c = v.charCodeAt(k);
    if (c == 0x22) {
      parts.push(v.substring(from, k));
      paramValue = parts.join("");
      return k + 1;
    }
    if (c == 0x5c && k + 1 < n && !isTokenChar(v.charCodeAt(k + 1))) {
      parts.push(v.substring(from, k));
      from = ++k;
    } else if (c == 0x0d || c == 0x0a) {
      return -1;
    }
  }
  return -1;
}

function tokenEnd(v: string, i: i32): i32 {
  while (i < v.length && isTokenChar(v.charCodeAt(i))) i++;
  return i;
}

/** Past Unicode white space (Go's unicode.IsSpace). */
function skipSpaces(v: string, i: i32): i32 {
  while (i < v.length && isUnicodeSpace(v.charCodeAt(i))) i++;
  return i;
}

function isUnicodeSpace(c: i32): bool {
  if (c <= 0xff) return (c >= 0x09 && c <= 0x0d) || c == 0x20 || c == 0x85 || c == 0xa0;
  return c == 0x1680 || (c >= 0x2000 && c <= 0x200a) || c == 0x2028 || c == 0x2029 || c == 0x202f || c == 0x205f || c == 0x3000;
}

/** charset'language'percent-encoded (RFC 2231), for us-ascii and utf-8 only; null when undecodable. */
function decode2231(v: string): string | null {
  const q1 = v.indexOf("'");
  const q2 = q1 < 0 ? -1 : v.indexOf("'", q1 + 1);
  if (q2 < 0 || q1 == 0) return null;
  const charset = v.substring(0, q1).toLowerCase();
  if (charset != "us-ascii" && charset != "utf-8") return null;
  return percentUnescape(v.substring(q2 + 1));
}

/** %XX escapes decoded (the bytes read as UTF-8); null when a '%' is not followed by two hex digits. */
function percentUnescape(v: string): string | null {
  if (v.indexOf("%") < 0) return v;
  const bytes = Uint8Array.wrap(String.UTF8.encode(v));
  const out = new Uint8Array(bytes.length);
  let j = 0;
  for (let i = 0; i < bytes.length; i++) {
    const c = bytes[i];
    if (c != 0x25) {
      out[j++] = c;
      continue;
    }
    const hi = i + 2 < bytes.length ? hexValue(bytes[i + 1]) : -1;
    const lo = i + 2 < bytes.length ? hexValue(bytes[i + 2]) : -1;
    if (hi < 0 || lo < 0) return null;
    out[j++] = <u8>((hi << 4) | lo);
    i += 2;
  }
  return String.UTF8.decodeUnsafe(out.dataStart, <usize>j);
}

function hexValue(c: i32): i32 {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  return -1;
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

const PREAMBLE: i32 = 0;
const HEADERS: i32 = 1;
const CONTENT: i32 = 2;
const NEXT: i32 = 3;
const DONE: i32 = 4;
const FAILED: i32 = 5;

/** What a step of the scan did: go on, wait for more bytes, or stop (done or failed). */
const GO: i32 = 0;
const WAIT: i32 = 1;
const STOP: i32 = 2;

/** What a delimiter line is. */
const PART: i32 = 0;
const END: i32 = 1;
const NOT_DELIMITER: i32 = 2;

const FIELD_OTHER: i32 = 0;
const FIELD_MODEL: i32 = 1;
const FIELD_FILE: i32 = 2;
const FIELD_STREAM: i32 = 3;

const NOT_FOUND: usize = usize.MAX_VALUE;

/**
 * The scan of one form, fed the body window by window: each window holds the body's bytes from `keep` on
 * (what the scan still needs) up to what has arrived. Positions are body offsets; a window's bytes are
 * read at offset + `delta`. A decision that needs bytes past the window waits for the next one unless the
 * body has ended, so any split of the body gives the answer of the whole.
 */
export class FormScan {
  private readonly dash: ArrayBuffer;
  /** The line break the first delimiter line used: CRLF (2) or LF (1). */
  private nl: usize = 2;
  private state: i32 = PREAMBLE;
  /** A line start (PREAMBLE, NEXT), a header section's start (HEADERS), or a part's content start (CONTENT). */
  private at: usize = 0;
  /** PREAMBLE: the line at `at` cannot be a delimiter line; its line feed is searched from `searchFrom`. */
  private skipping: bool = false;
  /** CONTENT: where the search for the delimiter goes on. */
  private searchFrom: usize = 0;
  /** CONTENT: whether the part was checked for a delimiter right at its start (an empty part, no line break). */
  private bareChecked: bool = false;
  private bare: bool = false;
  private field: i32 = FIELD_OTHER;
  private quotedPrintable: bool = false;
  /** The current window: its end and how its body offsets map to memory, and whether the body ends with it. */
  private delta: usize = 0;
  private end: usize = 0;
  private eos: bool = false;
  /** The first body offset the next window must hold. */
  keep: usize = 0;

  hasModel: bool = false;
  hasFile: bool = false;
  model: string = "";
  /** The last `model` part's content (as sent, encoded or not): what modelNameOverride replaces. */
  modelStart: usize = 0;
  modelEnd: usize = 0;
  stream: bool = false;
  streamStart: usize = 0;
  streamEnd: usize = 0;
  /** The 400's message when the form is malformed. */
  error: string = "";

  constructor(
    boundary: string,
    private canStream: bool,
  ) {
    this.dash = String.UTF8.encode("--" + boundary);
  }

  /** A scan that already failed (the content-type rules the form out): nothing is read. */
  static refused(message: string): FormScan {
    const s = new FormScan("", false);
    s.state = FAILED;
    s.error = message;
    return s;
  }

  /** The form was read to its closing delimiter, or found malformed: no more bytes are needed. */
  get finished(): bool {
    return this.state >= DONE;
  }

  /** The window [ptr, ptr + len) holds the body from offset `from` (at most `keep`); `eos`: the body ends there. */
  feed(ptr: usize, from: usize, len: usize, eos: bool): void {
    if (this.finished) return;
    this.delta = ptr - from;
    this.end = from + len;
    this.eos = eos;
    let step = GO;
    while (step == GO) {
      const state = this.state;
      step = state == PREAMBLE ? this.preamble() : state == HEADERS ? this.headers() : state == CONTENT ? this.content() : this.next();
    }
    this.keep = this.retained();
  }

  /** The form's facts into `facts` (`len`: the body's length): true when it holds a model and a file. */
  result(facts: RequestFacts, len: usize): bool {
    facts.reset();
    facts.bodyLength = <i32>len;
    if (this.state == FAILED) return failed(facts, this.error);
    if (this.state != DONE) return failed(facts, "failed to parse multipart form data: multipart: NextPart: EOF");
    if (!this.hasModel) return failed(facts, "missing required field 'model'");
    if (!this.hasFile) return failed(facts, "missing required field 'file'");
    const model = this.model;
    if (model.length == 0) return failed(facts, "field 'model' must not be empty");
    // The model becomes the x-ai-eg-model header value, which cannot carry control characters.
    if (hasControlChar(model)) return failed(facts, "field 'model' must not contain control characters");
    facts.model = model;
    facts.modelSpan.set(KIND_STRING, <i32>this.modelStart, <i32>this.modelEnd, false);
    if (this.stream) facts.stream.set(KIND_TRUE, <i32>this.streamStart, <i32>this.streamEnd, false);
    return true;
  }

  /** The body offset from which the scan needs the bytes again. */
  private retained(): usize {
    switch (this.state) {
      case PREAMBLE:
        return this.skipping ? this.searchFrom : this.at;
      case CONTENT:
        // A value that is read, or the check at the part's start, needs the content from its start; a
        // delimiter search only the byte before where it goes on (the CR of its line break).
        if (this.field == FIELD_MODEL || this.field == FIELD_STREAM || !this.bareChecked) return this.at;
        return max(this.at, this.searchFrom - 1);
      case HEADERS:
      case NEXT:
        return this.at;
    }
    return this.end;
  }

  /** Skips the preamble to the first delimiter line (or the end of an empty form). */
  private preamble(): i32 {
    while (true) {
      if (this.skipping) {
        const lf = this.findLf(this.searchFrom);
        if (lf == NOT_FOUND) {
          if (this.eos) return this.fail("NextPart: EOF");
          this.searchFrom = this.end;
          return WAIT;
        }
        this.skipping = false;
        this.at = lf + 1;
        continue;
      }
      const lineEnd = this.lineEnd(this.at);
      if (lineEnd == NOT_FOUND) {
        // The last line, without a line break, can only close the form.
        if (this.eos) return this.delimiterKind(this.at, this.end, true) == END ? this.done() : this.fail("NextPart: EOF");
        // A line that can no longer be a delimiter line is skipped without keeping it.
        const dashLen = <usize>this.dash.byteLength;
        if (this.end - this.at >= dashLen && !this.matchesAt(this.at, changetype<usize>(this.dash), dashLen)) {
          this.skipping = true;
          this.searchFrom = this.end;
        }
        return WAIT;
      }
      const kind = this.delimiterKind(this.at, lineEnd, true);
      this.at = lineEnd;
      if (kind == END) return this.done();
      if (kind == PART) {
        this.state = HEADERS;
        return GO;
      }
    }
    return STOP; // unreachable
  }

  /** After a part's content: a delimiter line or the closing one. */
  private next(): i32 {
    const lineEnd = this.lineEnd(this.at);
    if (lineEnd == NOT_FOUND) {
      if (!this.eos) return WAIT;
      return this.delimiterKind(this.at, this.end, false) == END ? this.done() : this.fail("NextPart: EOF");
    }
    const kind = this.delimiterKind(this.at, lineEnd, false);
    this.at = lineEnd;
    if (kind == END) return this.done();
    if (kind != PART) return this.fail("expecting a new Part");
    this.state = HEADERS;
    return GO;
  }

  /** A part's header section, read whole from its start once its empty line has arrived. */
  private headers(): i32 {
    let p = this.at;
    let disposition: string | null = null;
    let encoding: string | null = null;
    /** Which header the continuation lines extend: 1 Content-Disposition, 2 Content-Transfer-Encoding. */
    let current = 0;
    let firstLine = true;
    while (true) {
      const lineEnd = this.lineEnd(p);
      if (lineEnd == NOT_FOUND) return this.eos ? this.fail("malformed MIME header: EOF") : WAIT;
      let textEnd = lineEnd - 1;
      if (textEnd > p && this.byteAt(textEnd - 1) == 0x0d) textEnd--;
      const line = p;
      p = lineEnd;
      if (textEnd == line) break;
      const c = this.byteAt(line);
      if (c == 0x20 || c == 0x09) {
        // A continuation of the header before it.
        if (firstLine) return this.fail("malformed MIME header initial line");
        if (current == 1) disposition = disposition! + " " + this.text(line, textEnd).trim();
        else if (current == 2) encoding = encoding! + " " + this.text(line, textEnd).trim();
        continue;
      }
      firstLine = false;
      let colon = line;
      while (colon < textEnd && isTokenChar(this.byteAt(colon))) colon++;
      if (colon == line || colon == textEnd || this.byteAt(colon) != 0x3a) return this.fail("malformed MIME header line");
      // The first of each header counts, as Go's Header.Get reads it.
      current = 0;
      if (disposition == null && this.nameIs(line, colon, "content-disposition")) {
        current = 1;
        disposition = this.text(colon + 1, textEnd).trim();
      } else if (encoding == null && this.nameIs(line, colon, "content-transfer-encoding")) {
        current = 2;
        encoding = this.text(colon + 1, textEnd).trim();
      }
    }
    let name = "";
    if (disposition != null) {
      const m = parseMediaType(<string>disposition);
      const n = m.error.length == 0 && m.type == "form-data" ? m.param("name") : null;
      if (n != null) name = n;
    }
    this.field = name == "model" ? FIELD_MODEL : name == "file" ? FIELD_FILE
      : name == "stream" && this.canStream ? FIELD_STREAM : FIELD_OTHER;
    this.quotedPrintable = encoding != null && (<string>encoding).toLowerCase() == "quoted-printable";
    this.state = CONTENT;
    this.at = p;
    this.searchFrom = p;
    this.bareChecked = false;
    return GO;
  }

  /**
   * A part's content, to the line break of the next line break + "--boundary" followed by "--", a space,
   * a tab, CR, LF or the end of the body; also, at the very start, to a bare "--boundary" (Go allows an
   * empty part without the line break).
   */
  private content(): i32 {
    const dash = changetype<usize>(this.dash);
    const dashLen = <usize>this.dash.byteLength;
    const from = this.at;
    // What follows "--boundary" decides whether it is a delimiter: two more bytes, or the end of the body.
    const lookahead = dashLen + 2;
    if (!this.bareChecked) {
      if (!this.eos && from + lookahead > this.end) return WAIT;
      this.bareChecked = true;
      this.bare = this.matchesAt(from, dash, dashLen) && this.endsDelimiter(from + dashLen);
      if (this.bare) return this.partEnded(from);
    }
    const nl = this.nl;
    let q = this.searchFrom;
    while (true) {
      const lf = this.findLf(q);
      if (lf == NOT_FOUND) {
        if (this.eos) return this.fail("unexpected EOF");
        this.searchFrom = this.end;
        return WAIT;
      }
      if (!this.eos && lf + 1 + lookahead > this.end) {
        this.searchFrom = lf;
        return WAIT;
      }
      const nlStart = lf + 1 - nl;
      if (nlStart >= from && (nl == 1 || this.byteAt(nlStart) == 0x0d) && this.matchesAt(lf + 1, dash, dashLen) &&
        this.endsDelimiter(lf + 1 + dashLen)) {
        return this.partEnded(nlStart);
      }
      q = lf + 1;
    }
    return STOP; // unreachable
  }

  /** The part's content is [at, contentEnd): take what it says, then look for the next delimiter line. */
  private partEnded(contentEnd: usize): i32 {
    const start = this.at;
    const field = this.field;
    if (field == FIELD_FILE) {
      this.hasFile = true;
    } else if (field == FIELD_MODEL || field == FIELD_STREAM) {
      const value = this.value(start, contentEnd);
      if (value == null) return this.failField(field == FIELD_MODEL ? "model" : "stream");
      if (field == FIELD_MODEL) {
        this.hasModel = true;
        this.model = value;
        this.modelStart = start;
        this.modelEnd = contentEnd;
      } else {
        this.stream = value.toLowerCase() == "true";
        this.streamStart = start;
        this.streamEnd = contentEnd;
      }
    }
    this.state = NEXT;
    this.at = this.bare ? contentEnd : contentEnd + this.nl;
    return GO;
  }

  /** A field's value as io.ReadAll of the part reads it (quoted-printable decoded), or null (qpError). */
  private value(start: usize, end: usize): string | null {
    const ptr = start + this.delta;
    if (!this.quotedPrintable) return String.UTF8.decodeUnsafe(ptr, end - start);
    const decoded = decodeQuotedPrintable(ptr, end - start);
    return decoded == null ? null : String.UTF8.decode(decoded);
  }

  /** After "--boundary" at p: "--", a space, a tab, CR, LF, or the end of the body. */
  private endsDelimiter(p: usize): bool {
    if (p >= this.end) return true;
    const c = this.byteAt(p);
    if (c == 0x20 || c == 0x09 || c == 0x0d || c == 0x0a) return true;
    return c == 0x2d && p + 1 < this.end && this.byteAt(p + 1) == 0x2d;
  }

  /**
   * The line [ls, le) (its line break included, if any): PART for a delimiter line, END for the closing
   * one, NOT_DELIMITER for any other. The first delimiter line decides the line break (CRLF or LF).
   */
  private delimiterKind(ls: usize, le: usize, first: bool): i32 {
    const dashLen = <usize>this.dash.byteLength;
    if (ls + dashLen > le || !this.matchesAt(ls, changetype<usize>(this.dash), dashLen)) return NOT_DELIMITER;
    let q = ls + dashLen;
    const closing = q + 1 < le && this.byteAt(q) == 0x2d && this.byteAt(q + 1) == 0x2d;
    if (closing) q += 2;
    while (q < le && isSpace(this.byteAt(q))) q++;
    const rest = le - q;
    const lf = rest == 1 && this.byteAt(q) == 0x0a;
    const crlf = rest == 2 && this.byteAt(q) == 0x0d && this.byteAt(q + 1) == 0x0a;
    if (closing) return rest == 0 || lf || crlf ? END : NOT_DELIMITER;
    if (first && (lf || crlf)) this.nl = lf ? 1 : 2;
    return (lf && this.nl == 1) || (crlf && this.nl == 2) ? PART : NOT_DELIMITER;
  }

  /** The position after the next LF from `p`, or NOT_FOUND. */
  private lineEnd(p: usize): usize {
    const lf = this.findLf(p);
    return lf == NOT_FOUND ? NOT_FOUND : lf + 1;
  }

  /** The next LF from `p` in the window (16 bytes at a time with SIMD: a file is mostly searched, not parsed). */
  private findLf(p: usize): usize {
    const delta = this.delta;
    const end = this.end + delta;
    let q = p + delta;
    if (ASC_FEATURE_SIMD) {
      const lf = i8x16.splat(0x0a);
      for (; q + 16 <= end; q += 16) {
        const mask = i8x16.bitmask(i8x16.eq(v128.load(q), lf));
        if (mask != 0) return q + <usize>ctz(mask) - delta;
      }
    }
    for (; q < end; q++) if (load<u8>(q) == 0x0a) return q - delta;
    return NOT_FOUND;
  }

  private byteAt(p: usize): i32 {
    return <i32>load<u8>(p + this.delta);
  }

  private text(start: usize, end: usize): string {
    return String.UTF8.decodeUnsafe(start + this.delta, end - start);
  }

  private matchesAt(p: usize, what: usize, n: usize): bool {
    return p + n <= this.end && memory.compare(p + this.delta, what, n) == 0;
  }

  /** [start, end) equals `s` ASCII case-insensitively. */
  private nameIs(start: usize, end: usize, s: string): bool {
    if (<i32>(end - start) != s.length) return false;
    for (let i = 0; i < s.length; i++) {
      let c = this.byteAt(start + <usize>i);
      if (c >= 0x41 && c <= 0x5a) c += 0x20;
      if (c != s.charCodeAt(i)) return false;
    }
    return true;
  }

  private done(): i32 {
    this.state = DONE;
    return STOP;
  }

  private fail(message: string): i32 {
    this.state = FAILED;
    this.error = "failed to parse multipart form data: multipart: " + message;
    return STOP;
  }

  /** Reading a field failed (its quoted-printable is invalid): Go's "failed to read <name> field". */
  private failField(name: string): i32 {
    this.state = FAILED;
    this.error = "failed to read " + name + " field: " + qpError;
    return STOP;
  }
}

function failed(facts: RequestFacts, message: string): bool {
  facts.error = message;
  return false;
}

/** Why decodeQuotedPrintable returned null, as Go's mime/quotedprintable Reader says it. */
let qpError = "";

/** The bufio.Reader that Go's quotedprintable.Reader reads lines with: a longer line is an error. */
const QP_LINE_MAX: usize = 4096;
const QP_OK: i32 = 0;
const QP_EOF: i32 = 1;
const QP_FULL: i32 = 2;
const QP_BAD_SOFT_BREAK: i32 = 3;

/**
 * Quoted-printable bytes decoded as Go's quotedprintable.Reader decodes them (read to the end): line by
 * line, trailing white space dropped, "=" at a line's end a soft line break, "=XX" (either case) a byte,
 * "=" not followed by two hex digits literal unless a line break or the end follows, bytes >= 0x80 as
 * they are; null with qpError otherwise.
 */
export function decodeQuotedPrintable(ptr: usize, len: usize): ArrayBuffer | null {
  const out = new Uint8Array(<i32>len);
  let o = 0;
  let pos: usize = 0;
  while (pos < len) {
    // bufio.Reader.ReadSlice('\n') with its 4096-byte buffer.
    let lineEnd: usize = pos;
    while (lineEnd < len && lineEnd - pos < QP_LINE_MAX && load<u8>(ptr + lineEnd) != 0x0a) lineEnd++;
    let status = QP_OK;
    if (lineEnd - pos < QP_LINE_MAX && lineEnd < len) lineEnd++; // its line feed
    else status = lineEnd - pos == QP_LINE_MAX ? QP_FULL : QP_EOF;
    const hasLf = status == QP_OK;
    const hasCr = hasLf && lineEnd - pos >= 2 && load<u8>(ptr + lineEnd - 2) == 0x0d;
    let t = lineEnd;
    while (t > pos && isQpDiscard(load<u8>(ptr + t - 1))) t--;
    // The line's bytes to decode: [pos, dataEnd) and then the line break kept, if any.
    let dataEnd = t;
    let lineBreak = 0;
    let badAfter: usize = 0;
    if (t > pos && load<u8>(ptr + t - 1) == 0x3d) {
      dataEnd = t - 1;
      let rs = t;
      while (rs < lineEnd && isSpace(load<u8>(ptr + rs))) rs++;
      const first = rs < lineEnd ? <i32>load<u8>(ptr + rs) : -1;
      const breakFollows = first == 0x0a || (first == 0x0d && rs + 1 < lineEnd && load<u8>(ptr + rs + 1) == 0x0a);
      if (!breakFollows && !(rs == lineEnd && dataEnd > pos && status == QP_EOF)) {
        status = QP_BAD_SOFT_BREAK;
        badAfter = rs;
      }
    } else if (hasLf) {
      lineBreak = hasCr ? 2 : 1;
    }
    const n = <i32>(dataEnd - pos) + lineBreak;
    for (let i = 0; i < n; ) {
      const b = qpLineByte(ptr, pos, dataEnd, lineBreak, i);
      if (b == 0x3d) {
        const h = i + 2 < n ? hexValue(qpLineByte(ptr, pos, dataEnd, lineBreak, i + 1)) : -1;
        const l = i + 2 < n ? hexValue(qpLineByte(ptr, pos, dataEnd, lineBreak, i + 2)) : -1;
        if (h >= 0 && l >= 0) {
          out[o++] = <u8>((h << 4) | l);
          i += 3;
          continue;
        }
        const next = i + 1 < n ? qpLineByte(ptr, pos, dataEnd, lineBreak, i + 1) : -1;
        if (next >= 0 && next != 0x0d && next != 0x0a) {
          out[o++] = 0x3d; // taken as a literal '='
          i++;
          continue;
        }
        if (i + 2 >= n) qpError = "unexpected EOF";
        else qpError = "quotedprintable: invalid hex byte 0x" + hex2(h < 0 ? next : qpLineByte(ptr, pos, dataEnd, lineBreak, i + 2));
        return null;
      }
      if (b < 0x80 && b != 0x09 && b != 0x0d && b != 0x0a && (b < 0x20 || b > 0x7e)) {
        qpError = "quotedprintable: invalid unescaped byte 0x" + hex2(b) + " in body";
        return null;
      }
      out[o++] = <u8>b;
      i++;
    }
    if (status == QP_BAD_SOFT_BREAK) {
      qpError = "quotedprintable: invalid bytes after =: " + goQuoteSpace(ptr + badAfter, lineEnd - badAfter);
      return null;
    }
    if (status == QP_FULL) {
      qpError = "bufio: buffer full";
      return null;
    }
    pos = lineEnd;
  }
  return out.buffer.slice(0, o);
}

/** Byte i of a line: its data [pos, dataEnd), then CRLF or LF when `lineBreak` is 2 or 1. */
function qpLineByte(ptr: usize, pos: usize, dataEnd: usize, lineBreak: i32, i: i32): i32 {
  const n = <i32>(dataEnd - pos);
  if (i < n) return <i32>load<u8>(ptr + pos + <usize>i);
  return lineBreak == 2 && i == n ? 0x0d : 0x0a;
}

function isQpDiscard(c: i32): bool {
  return c == 0x0a || c == 0x0d || c == 0x20 || c == 0x09;
}

function hex2(c: i32): string {
  const s = c.toString(16);
  return s.length == 1 ? "0" + s : s;
}

/** Go's %q of white space bytes (what follows a bad soft line break). */
function goQuoteSpace(ptr: usize, n: usize): string {
  let s = '"';
  for (let i: usize = 0; i < n; i++) {
    const c = load<u8>(ptr + i);
    s += c == 0x0d ? "\\r" : c == 0x0a ? "\\n" : c == 0x09 ? "\\t" : String.fromCharCode(c);
  }
  return s + '"';
}
