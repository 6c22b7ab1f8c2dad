// assembly/gateway/request/multipart.ts: the content-type's boundary and the in-place scan of a
// multipart/form-data body for /v1/audio/transcriptions and /translations. Oracle on generated forms: the
// WHATWG multipart parser of Node's own fetch (undici, Response.formData()). Fuzz: mutated and random
// bodies never trap the module, and whatever it accepts has a model span inside the body.
import { beforeAll, describe, expect, it } from "vitest";
import { loadLogicModule, type LogicModule } from "../logic-module.js";
import { rng } from "../json-gen.js";

let m: LogicModule;
beforeAll(() => {
  m = loadLogicModule("logic-multipart");
});

interface Scan {
  ok: boolean;
  error: string;
  model: string;
  modelSpan: [number, number];
  stream: boolean;
}

function scan(contentType: string, body: Uint8Array | string, transcription = true): Scan {
  const ct = Buffer.from(contentType);
  const bytes = typeof body === "string" ? Buffer.from(body, "latin1") : body;
  const cp = m.put(ct);
  const bp = m.put(bytes);
  try {
    m.exports.scan(cp, ct.length, bp, bytes.length, transcription ? 1 : 0);
    return JSON.parse(m.outText()) as Scan;
  } finally {
    m.free(cp);
    m.free(bp);
  }
}

/** The form scanned as it would arrive in pieces ending at `splits` (ascending), each window read apart. */
function scanSplit(contentType: string, body: Uint8Array | string, splits: number[], transcription = true): Scan & { maxWindow: number } {
  const ct = Buffer.from(contentType);
  const bytes = typeof body === "string" ? Buffer.from(body, "latin1") : body;
  const offsets = Buffer.alloc(4 * splits.length);
  splits.forEach((s, i) => offsets.writeUInt32LE(s, 4 * i));
  const cp = m.put(ct);
  const bp = m.put(bytes);
  const sp = m.put(offsets);
  try {
    m.exports.scanSplit(cp, ct.length, bp, bytes.length, transcription ? 1 : 0, sp, splits.length);
    return JSON.parse(m.outText());
  } finally {
    m.free(cp);
    m.free(bp);
    m.free(sp);
  }
}

/** The whole-body answer must be the answer of every split: one split at each position, and random pieces. */
function expectSplitsAgree(contentType: string, body: Buffer, r: () => number, label: string): void {
  const whole = scan(contentType, body);
  for (let at = 0; at <= body.length; at++) {
    const { maxWindow, ...got } = scanSplit(contentType, body, [at]);
    if (JSON.stringify(got) !== JSON.stringify(whole)) expect(got, `${label}, split at ${at}`).toEqual(whole);
  }
  for (let k = 0; k < 20; k++) {
    const splits: number[] = [];
    for (let at = 0; at < body.length; at += 1 + Math.floor(r() * (k < 10 ? 4 : 64))) splits.push(at);
    const { maxWindow, ...got } = scanSplit(contentType, body, splits);
    expect(got, `${label}, pieces ${splits.join(",")}`).toEqual(whole);
  }
}

function mediaType(v: string): { type: string; params: Record<string, string>; error: string } {
  const bytes = Buffer.from(v);
  const p = m.put(bytes);
  try {
    m.exports.mediaType(p, bytes.length);
    return JSON.parse(m.outText());
  } finally {
    m.free(p);
  }
}

const CT = "multipart/form-data; boundary=XyZ";
const part = (name: string, value: string, extra = "") => `--XyZ\r\nContent-Disposition: form-data; name="${name}"${extra}\r\n\r\n${value}\r\n`;
const FILE = part("file", "RIFF\x00\x01binary\r\n--XyZX not a delimiter\r\n", '; filename="a.wav"').replace("\r\n\r\n", "\r\nContent-Type: audio/wav\r\n\r\n");

describe("content-type", () => {
  it("parses type and parameters as mime.ParseMediaType does (token or quoted, names lowercased)", () => {
    expect(mediaType('Multipart/Form-Data; Boundary="a b\\"c"; x=y ;')).toEqual({
      type: "multipart/form-data",
      params: { boundary: 'a b"c', x: "y" },
      error: "",
    });
    expect(mediaType("form-data; name=model").params).toEqual({ name: "model" });
    expect(mediaType("form-data; name=a; name=b").error).toBe("duplicate parameter name");
    for (const bad of ["form-data; name", "form-data; name=", 'form-data; name="open', "form-data; name=a b", "; name=a"]) {
      expect(mediaType(bad).error, bad).not.toBe("");
    }
  });

  it("refuses a form without a usable boundary, a non-multipart body, and multipart elsewhere", () => {
    const body = part("model", "whisper-1") + FILE + "--XyZ--\r\n";
    expect(scan("multipart/form-data", body).error).toBe("failed to parse multipart form data: missing boundary");
    expect(scan(`multipart/form-data; boundary=${"b".repeat(71)}`, body).error).toBe("failed to parse multipart form data: invalid boundary");
    expect(scan("multipart/form-data; boundary", body).error).toBe("failed to parse multipart form data: mime: invalid media parameter");
    expect(scan("application/json", body).error).toBe("expected multipart/form-data content type for /v1/audio/x");
  });
});

describe("forms", () => {
  it("takes the model (its bytes in place), requires a file, and reads stream=true for transcriptions only", () => {
    const body = "preamble line\r\n" + part("model", "whisper-large-v3") + part("stream", "TRUE") + FILE + "--XyZ--\r\nepilogue";
    const r = scan(CT, body);
    expect(r).toMatchObject({ ok: true, error: "", model: "whisper-large-v3", stream: true });
    expect(body.slice(r.modelSpan[0], r.modelSpan[1])).toBe("whisper-large-v3");
    expect(scan(CT, body, false)).toMatchObject({ ok: true, stream: false });
  });

  it("the last model counts; LF line breaks and transport padding after the boundary are accepted", () => {
    const body = part("model", "a") + FILE + part("model", "b") + "--XyZ--";
    expect(scan(CT, body).model).toBe("b");
    const lf = body.replace(/\r\n/g, "\n").replace("--XyZ\n", "--XyZ \t\n");
    expect(scan(CT, lf)).toMatchObject({ ok: true, model: "b" });
  });

  it("names 400s as Envoy AI Gateway does", () => {
    expect(scan(CT, FILE + "--XyZ--\r\n").error).toBe("missing required field 'model'");
    expect(scan(CT, part("model", "m") + "--XyZ--\r\n").error).toBe("missing required field 'file'");
    expect(scan(CT, part("model", "") + FILE + "--XyZ--\r\n").error).toBe("field 'model' must not be empty");
    expect(scan(CT, part("model", "a\tb") + FILE + "--XyZ--\r\n").error).toBe("field 'model' must not contain control characters");
    expect(scan(CT, part("model", "m") + FILE).error).toBe("failed to parse multipart form data: multipart: unexpected EOF");
    expect(scan(CT, part("model", "m") + FILE + "--XyZ").error).toBe("failed to parse multipart form data: multipart: NextPart: EOF");
    expect(scan(CT, part("model", "m") + '--XyZ\r\nContent-Disposition: form-data; name="file"\r\n\r\nno end').error).toBe(
      "failed to parse multipart form data: multipart: unexpected EOF",
    );
    expect(scan(CT, "--XyZ\r\nno colon\r\n\r\nx\r\n--XyZ--").error).toBe("failed to parse multipart form data: multipart: malformed MIME header line");
    expect(scan(CT, part("model", "m") + "--XyZ junk\r\n").error).toMatch(
      /failed to parse multipart form data: multipart: (expecting a new Part|unexpected EOF)/,
    );
    expect(scan(CT, "").error).toBe("failed to parse multipart form data: multipart: NextPart: EOF");
  });

  it("ignores parts whose disposition is not form-data or is malformed", () => {
    const body =
      part("model", "good") +
      FILE +
      '--XyZ\r\nContent-Disposition: attachment; name="model"\r\n\r\nbad\r\n' +
      '--XyZ\r\nContent-Disposition: form-data; name="model\r\n\r\nworse\r\n--XyZ--\r\n';
    expect(scan(CT, body).model).toBe("good");
  });
});

// ---- generated forms against undici's parser ----

const BOUNDARY_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'()+_,-./:=?";

function randomForm(r: () => number): { contentType: string; body: Buffer; model: string; hasFile: boolean } {
  const pick = (s: string) => s[Math.floor(r() * s.length)]!;
  const boundary =
    Array.from({ length: 1 + Math.floor(r() * 40) }, () => pick(BOUNDARY_CHARS))
      .join("")
      .replace(/[ ]+$/, "") || "b";
  const model =
    Array.from({ length: 1 + Math.floor(r() * 20) }, () => pick("abcdefghijklmnopqrstuvwxyz0123456789-./:_ éü"))
      .join("")
      .trim() || "m";
  const chunks: Buffer[] = [];
  const fields: Array<[string, Buffer, boolean]> = [];
  const hasFile = r() < 0.9;
  const others = Math.floor(r() * 4);
  for (let i = 0; i < others; i++) fields.push([pick("lpt") + "x", Buffer.from(String(r())), false]);
  fields.splice(Math.floor(r() * (fields.length + 1)), 0, ["model", Buffer.from(model), false]);
  if (hasFile) {
    // Binary content with line breaks and near-delimiters in it.
    const file = Buffer.alloc(Math.floor(r() * 3000));
    for (let i = 0; i < file.length; i++) file[i] = Math.floor(r() * 256);
    // Near-delimiters that RFC 2046 allows in content (undici's parser refuses the first one).
    const near = Buffer.from(`${r() < 0.5 ? `\r\n-${boundary}` : ""}\r\n--${boundary.slice(0, -1)}\r\n`);
    fields.splice(Math.floor(r() * (fields.length + 1)), 0, ["file", Buffer.concat([file, near, file.subarray(0, 7)]), true]);
  }
  for (const [name, value, isFile] of fields) {
    chunks.push(
      Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="${name}"${isFile ? '; filename="f.bin"\r\nContent-Type: application/octet-stream' : ""}\r\n\r\n`,
      ),
    );
    chunks.push(value, Buffer.from("\r\n"));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { contentType: `multipart/form-data; boundary="${boundary}"`, body: Buffer.concat(chunks), model, hasFile };
}

describe("generated forms (oracle: undici's multipart parser, and the form as built)", () => {
  it("agrees on the model and the file for 300 forms, and the model span holds the model's bytes", async () => {
    const r = rng(16);
    let crossChecked = 0;
    for (let i = 0; i < 300; i++) {
      const form = randomForm(r);
      const got = scan(form.contentType, form.body);
      const parsed = await new Response(new Uint8Array(form.body), { headers: { "content-type": form.contentType } }).formData().catch(() => null);
      if (parsed) {
        crossChecked++;
        expect(parsed.get("model"), `form ${i}`).toBe(form.model);
        expect(parsed.has("file")).toBe(form.hasFile);
      }
      if (!form.hasFile) {
        expect(got.error).toBe("missing required field 'file'");
        continue;
      }
      expect(got, `form ${i}`).toMatchObject({ ok: true, model: form.model });
      expect(form.body.subarray(got.modelSpan[0], got.modelSpan[1]).toString("utf8")).toBe(form.model);
    }
    expect(crossChecked).toBeGreaterThan(100);
  });

  it("fuzz: mutated and random bodies never trap; an accepted one has its model span inside the body", () => {
    const r = rng(1616);
    for (let i = 0; i < 2000; i++) {
      const form = randomForm(r);
      const body = Buffer.from(form.body);
      const edits = 1 + Math.floor(r() * 4);
      for (let e = 0; e < edits; e++) {
        const at = Math.floor(r() * body.length);
        const op = r();
        if (op < 0.4) body[at] = Math.floor(r() * 256);
        else if (op < 0.7) body[at] = "\r\n-"[Math.floor(r() * 3)]!.charCodeAt(0);
        else body.copyWithin(at, Math.floor(r() * body.length));
      }
      const cut = r() < 0.3 ? body.subarray(0, Math.floor(r() * body.length)) : body;
      const got = scan(form.contentType, cut);
      if (got.ok) {
        expect(got.modelSpan[0]).toBeGreaterThanOrEqual(0);
        expect(got.modelSpan[1]).toBeLessThanOrEqual(cut.length);
        expect(got.modelSpan[1]).toBeGreaterThan(got.modelSpan[0]);
      } else {
        expect(got.error).not.toBe("");
      }
    }
    const NOISE = '-\r\nab:" ;=';
    for (let i = 0; i < 500; i++) {
      const noise = Buffer.alloc(Math.floor(r() * 200));
      for (let j = 0; j < noise.length; j++) noise[j] = NOISE.charCodeAt(Math.floor(r() * NOISE.length));
      expect(() => scan("multipart/form-data; boundary=ab", noise)).not.toThrow();
    }
  });
});

describe("a form scanned as it arrives (each callback reads only what the scan still needs)", () => {
  it("answers as for the whole body whatever the split: inside the boundary, inside CRLF, inside the model", () => {
    const r = rng(2231);
    const body = Buffer.from("preamble\r\n" + part("model", "whisper-large-v3") + part("stream", "true") + FILE + "--XyZ--\r\nepilogue", "latin1");
    expectSplitsAgree(CT, body, r, "example");
    const lf = Buffer.from(body.toString("latin1").replace(/\r\n/g, "\n"), "latin1");
    expectSplitsAgree(CT, lf, r, "LF form");
    for (const bad of [
      part("model", "m") + FILE,
      part("model", "m") + FILE + "--XyZ",
      "--XyZ\r\nno colon\r\n\r\nx\r\n--XyZ--",
      part("model", "") + FILE + "--XyZ--",
    ]) {
      expectSplitsAgree(CT, Buffer.from(bad, "latin1"), r, bad.slice(0, 40));
    }
  });

  it("generated and mutated forms: every split gives the whole body's answer", () => {
    const r = rng(4242);
    for (let i = 0; i < 60; i++) {
      const form = randomForm(r);
      const body = Buffer.from(form.body.subarray(0, 700 + Math.floor(r() * 300)));
      const whole = Buffer.concat([body, form.body.subarray(-40)]);
      if (i % 2 === 1) {
        for (let e = 0; e < 3; e++) whole[Math.floor(r() * whole.length)] = "\r\n-"[Math.floor(r() * 3)]!.charCodeAt(0);
      }
      expectSplitsAgree(form.contentType, i % 3 === 0 ? form.body : whole, r, `form ${i}`);
    }
  });

  it("holds a window the size of a piece, not of the file: 4 MiB in 16 KiB pieces", () => {
    const file = Buffer.alloc(4 << 20);
    for (let i = 0; i < file.length; i++) file[i] = (i * 7919) % 251;
    const body = Buffer.concat([
      Buffer.from(part("model", "whisper-1") + '--XyZ\r\nContent-Disposition: form-data; name="file"\r\n\r\n'),
      file,
      Buffer.from("\r\n--XyZ--\r\n"),
    ]);
    const splits = Array.from({ length: Math.floor(body.length / 16384) }, (_, i) => (i + 1) * 16384);
    const got = scanSplit(CT, body, splits);
    expect(got).toMatchObject({ ok: true, model: "whisper-1" });
    expect(got.maxWindow).toBeLessThan(16384 + 16);
    // A value that is read is held until it ends; a preamble line that cannot be a delimiter is not.
    const preamble = Buffer.concat([Buffer.alloc(1 << 20, "x"), Buffer.from("\r\n" + part("model", "m") + FILE + "--XyZ--")]);
    const p = scanSplit(
      CT,
      preamble,
      Array.from({ length: 64 }, (_, i) => (i + 1) * 16384),
    );
    expect(p).toMatchObject({ ok: true, model: "m" });
    expect(p.maxWindow).toBeLessThan(16384 + 16);
  });
});

describe("as Go's mime/multipart reads a part (Envoy AI Gateway v1.1.0 uses Reader.NextPart and Part.FormName)", () => {
  const qp = (value: string) => `--XyZ\r\nContent-Disposition: form-data; name="model"\r\nContent-Transfer-Encoding: Quoted-Printable\r\n\r\n${value}\r\n`;
  const form = (modelPart: string) => modelPart + FILE + "--XyZ--\r\n";

  it("decodes a quoted-printable model: escapes in either case, soft line breaks, trailing white space dropped", () => {
    expect(scan(CT, form(qp("whisper=2Dlarge=2dv3"))).model).toBe("whisper-large-v3");
    expect(scan(CT, form(qp("whis=\r\nper-1"))).model).toBe("whisper-1");
    expect(scan(CT, form(qp("whis= \t\nper-1  "))).model).toBe("whisper-1");
    expect(scan(CT, form(qp("a=b=5"))).model).toBe("a=b=5"); // '=' without two hex digits is literal
    expect(scan(CT, form(qp("model="))).model).toBe("model"); // a soft break at the end is ignored
    expect(scan(CT, form(qp("caf=C3=A9"))).model).toBe("café");
    // The span is the part's bytes as sent (what a modelNameOverride replaces).
    const body = form(qp("whisper=2D1"));
    const r = scan(CT, body);
    expect(body.slice(r.modelSpan[0], r.modelSpan[1])).toBe("whisper=2D1");
    // A stream field too, for transcriptions.
    const streamed =
      part("model", "m") +
      '--XyZ\r\nContent-Disposition: form-data; name="stream"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n=74rue\r\n' +
      FILE +
      "--XyZ--";
    expect(scan(CT, streamed).stream).toBe(true);
  });

  it("refuses what Go's quotedprintable.Reader refuses, as a failure to read the field", () => {
    expect(scan(CT, form(qp("a\x01b"))).error).toBe("failed to read model field: quotedprintable: invalid unescaped byte 0x01 in body");
    expect(scan(CT, form(qp("a=\rb"))).error).toBe("failed to read model field: quotedprintable: invalid hex byte 0x0d");
    expect(scan(CT, form(qp("="))).error).toBe('failed to read model field: quotedprintable: invalid bytes after =: ""');
    expect(scan(CT, form(qp("ab=\r \r\ncd"))).error).toBe('failed to read model field: quotedprintable: invalid bytes after =: "\\r \\r\\n"');
    expect(scan(CT, form(qp("a".repeat(5000)))).error).toBe("failed to read model field: bufio: buffer full");
    // Another encoding is not decoded (Go decodes only quoted-printable).
    expect(scan(CT, form(qp("x").replace("Quoted-Printable", "base64"))).model).toBe("x");
  });

  it("takes the part's name from RFC 2231 parameters as mime.ParseMediaType decodes them", () => {
    const named = (disposition: string, value = "whisper-1") =>
      `--XyZ\r\nContent-Disposition: form-data; ${disposition}\r\n\r\n${value}\r\n` + FILE + "--XyZ--";
    expect(scan(CT, named("name*=utf-8''model")).model).toBe("whisper-1");
    expect(scan(CT, named("name*=UTF-8'en'%6Dodel")).model).toBe("whisper-1");
    expect(scan(CT, named('name*0="mo"; name*1=del')).model).toBe("whisper-1");
    expect(scan(CT, named("name*0*=us-ascii''mo; name*1*=%64el")).model).toBe("whisper-1");
    expect(scan(CT, named("name=\"x\"; name*=utf-8''model")).model).toBe("whisper-1"); // the extended form wins
    expect(scan(CT, named("name*=iso-8859-1''model")).error).toBe("missing required field 'model'"); // charset not decoded
    expect(scan(CT, named("name*=utf-8''mod%6")).error).toBe("missing required field 'model'");
    expect(scan(CT, named("name=\"model\"; name*=utf-8''%zz")).model).toBe("whisper-1"); // undecodable: the plain one stays
    expect(mediaType('form-data; name="a\\b"').params).toEqual({ name: "a\\b" }); // MSIE paths: a backslash before a token character stays
    expect(mediaType('form-data; name=""').params).toEqual({ name: "" });
    expect(mediaType("form-data x; name=a").error).toBe("expected slash after first token");
    expect(mediaType("a/b c; name=a").error).toBe("unexpected content after media subtype");
  });
});
