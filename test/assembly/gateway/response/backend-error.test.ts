// The OpenAIBackendError wrapping of a non-JSON upstream error (assembly/gateway/response/backend-error.ts),
// on random byte strings: the output is valid JSON whose message is the body decoded as UTF-8 the way Go's
// encoding/json writes a string (each byte that does not start a valid sequence becomes U+FFFD).
import { beforeAll, describe, expect, it } from "vitest";
import { rng } from "../json-gen.js";
import { loadLogicModule, type LogicModule } from "../logic-module.js";

let m: LogicModule;
beforeAll(() => {
  m = loadLogicModule("logic-response");
});

function wrap(status: number, body: Uint8Array): Buffer {
  const p = m.put(body);
  m.exports.backendError(status, p, body.length);
  m.free(p);
  return Buffer.from(m.out());
}

const strict = new TextDecoder("utf-8", { fatal: true });

/** Go's utf8.DecodeRune over the bytes, invalid ones replaced one by one (strict WHATWG decoding decides validity). */
function goDecode(b: Uint8Array): string {
  let out = "";
  for (let i = 0; i < b.length; ) {
    let done = false;
    for (let n = 1; n <= 4 && i + n <= b.length && !done; n++) {
      try {
        const s = strict.decode(b.subarray(i, i + n));
        if ([...s].length === 1) {
          out += s;
          i += n;
          done = true;
        }
      } catch {
        /* not a complete valid sequence of n bytes */
      }
    }
    if (!done) {
      out += "\ufffd";
      i++;
    }
  }
  return out;
}

/** Random bytes biased to what matters: escapes, controls, valid and broken multi-byte sequences. */
function randomBody(rand: () => number): Uint8Array {
  const parts: number[] = [];
  const n = Math.floor(rand() * 40);
  const pick = <T>(a: T[]) => a[Math.floor(rand() * a.length)];
  for (let i = 0; i < n; i++) {
    const r = rand();
    if (r < 0.3) parts.push(Math.floor(rand() * 256));
    else if (r < 0.45) parts.push(pick([0x22, 0x5c, 0x08, 0x0c, 0x0a, 0x0d, 0x09, 0x00, 0x1f, 0x7f, 0x2f, 0x3c]));
    else if (r < 0.65) parts.push(...Buffer.from(pick(["é", "—", "😀", "\u{10ffff}", "\u2028", "ü", "\ufffd"])));
    else if (r < 0.8) {
      // A valid sequence cut short, or with one byte made wrong.
      const seq = [...Buffer.from(pick(["é", "—", "😀", "\u{10ffff}"]))];
      if (rand() < 0.5) parts.push(...seq.slice(0, 1 + Math.floor(rand() * (seq.length - 1))));
      else {
        seq[Math.floor(rand() * seq.length)] = Math.floor(rand() * 256);
        parts.push(...seq);
      }
    } else if (r < 0.9) {
      // Overlongs, surrogates, beyond U+10FFFF.
      parts.push(
        ...pick([
          [0xc0, 0xaf],
          [0xe0, 0x80, 0xaf],
          [0xed, 0xa0, 0x80],
          [0xf4, 0x90, 0x80, 0x80],
          [0xf0, 0x80, 0x80, 0xaf],
          [0xf5, 0x80],
        ]),
      );
    } else parts.push(...Buffer.from("plain text "));
  }
  return Uint8Array.from(parts);
}

describe("backend error wrapping", () => {
  it("keeps the exact shape for a plain body", () => {
    expect(wrap(503, Buffer.from("no healthy upstream")).toString()).toBe(
      '{"type":"error","error":{"type":"OpenAIBackendError","code":"503","message":"no healthy upstream"}}',
    );
  });

  it("escapes as errors.ts's jsonQuote does and keeps valid UTF-8 raw", () => {
    const body = Buffer.from('a"b\\c\n\r\t\b\f\u0000\u001f\u007f é😀');
    expect(wrap(502, body).toString()).toBe(
      '{"type":"error","error":{"type":"OpenAIBackendError","code":"502","message":"a\\"b\\\\c\\n\\r\\t\\b\\f\\u0000\\u001f\u007f é😀"}}',
    );
  });

  it("replaces each invalid byte with U+FFFD as Go does", () => {
    // A cut 3-byte sequence is two errors for Go (one for WHATWG's decoder), a surrogate three.
    const body = Uint8Array.from([0x61, 0xe2, 0x80, 0x62, 0xed, 0xa0, 0x80, 0xff]);
    expect(JSON.parse(wrap(500, body).toString()).error.message).toBe("a\ufffd\ufffdb\ufffd\ufffd\ufffd\ufffd");
  });

  it("wraps an empty body", () => {
    expect(JSON.parse(wrap(504, new Uint8Array(0)).toString()).error.message).toBe("");
  });

  it("gives valid JSON with the Go-decoded body as message, for random byte strings", () => {
    const rand = rng(16006);
    for (let i = 0; i < 3000; i++) {
      const body = randomBody(rand);
      const out = wrap(400 + (i % 200), body);
      // Valid UTF-8 JSON: strict decoding must succeed before parsing.
      const parsed = JSON.parse(strict.decode(out));
      expect(parsed, Buffer.from(body).toString("hex")).toEqual({
        type: "error",
        error: { type: "OpenAIBackendError", code: String(400 + (i % 200)), message: goDecode(body) },
      });
    }
  });
});
