// The streaming gzip/DEFLATE decoder (assembly/gateway/gzip) against node:zlib: stored, fixed and dynamic
// blocks, header flags, multiple members, corrupted and truncated streams, any chunking down to one byte, and
// linear total work.
import { beforeAll, describe, expect, it } from "vitest";
import zlib from "node:zlib";
import { randomBytes } from "node:crypto";
import { loadLogicModule, type LogicModule } from "../logic-module.js";
import { chatStream } from "../response/sse-fixtures.js";

let m: LogicModule;
beforeAll(() => {
  m = loadLogicModule("logic-response-gzip");
});

const GZIP = 0,
  RAW = 1;

/** Decodes in chunks of the given sizes (the rest in a final chunk). */
function decode(data: Buffer, chunks: number[] = [], format = GZIP): { status: number; out: Buffer; error: string } {
  const p = m.put(data);
  const sizes = Buffer.alloc(Math.max(4, chunks.length * 4));
  chunks.forEach((n, i) => sizes.writeInt32LE(n, i * 4));
  const sp = m.put(sizes);
  const status = m.exports.decode(format, p, data.length, sp, chunks.length) as number;
  const out = Buffer.from(m.out());
  m.free(p);
  m.free(sp);
  let error = "";
  if (status !== 1) {
    m.exports.errorText();
    error = m.outText();
  }
  return { status, out, error };
}

function decodeFixed(data: Buffer, chunk: number, format = GZIP): { status: number; out: Buffer; error: string } {
  const p = m.put(data);
  const status = m.exports.decodeFixed(format, p, data.length, chunk) as number;
  const out = Buffer.from(m.out());
  m.free(p);
  let error = "";
  if (status !== 1) {
    m.exports.errorText();
    error = m.outText();
  }
  return { status, out, error };
}

function randomChunks(total: number, seed: number, max: number): number[] {
  let s = seed;
  const rnd = () => {
    s = (s * 1103515245 + 12345) >>> 0;
    return s >>> 8;
  };
  const out: number[] = [];
  let left = total;
  while (left > 0) {
    const n = Math.min(left, 1 + (rnd() % max));
    out.push(n);
    left -= n;
  }
  return out;
}

/** Text that compresses with matches of every length and distance, plus incompressible stretches. */
function sample(size: number, seed = 1): Buffer {
  const parts: Buffer[] = [];
  let len = 0;
  let s = seed;
  const rnd = () => {
    s = (s * 1103515245 + 12345) >>> 0;
    return s >>> 8;
  };
  const words = ["data: ", '{"id":"chatcmpl-1","choices":[{"delta":{"content":"', "token", '"}}]}', "\n\n", "usage", "model", " "];
  while (len < size) {
    const r = rnd() % 10;
    const b =
      r < 7
        ? Buffer.from(words[rnd() % words.length].repeat(1 + (rnd() % 3)))
        : r < 9
          ? randomBytes(1 + (rnd() % 40))
          : Buffer.alloc(1 + (rnd() % 300), 0x61 + (rnd() % 3));
    parts.push(b);
    len += b.length;
  }
  return Buffer.concat(parts).subarray(0, size);
}

function crc32(buf: Buffer): number {
  let c = ~0 >>> 0;
  for (const b of buf) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? (0xedb88320 ^ (c >>> 1)) >>> 0 : c >>> 1;
  }
  return ~c >>> 0;
}

/** A gzip member built by hand around raw deflate data, with the optional header fields. */
function member(data: Buffer, opts: { extra?: Buffer; name?: string; comment?: string; hcrc?: boolean } = {}, level = 6): Buffer {
  let flags = 0;
  const fields: Buffer[] = [];
  if (opts.extra) {
    flags |= 4;
    const x = Buffer.alloc(2);
    x.writeUInt16LE(opts.extra.length);
    fields.push(x, opts.extra);
  }
  if (opts.name !== undefined) {
    flags |= 8;
    fields.push(Buffer.from(opts.name + "\0", "latin1"));
  }
  if (opts.comment !== undefined) {
    flags |= 16;
    fields.push(Buffer.from(opts.comment + "\0", "latin1"));
  }
  if (opts.hcrc) flags |= 2;
  let header = Buffer.concat([Buffer.from([0x1f, 0x8b, 8, flags, 1, 2, 3, 4, 0, 3]), ...fields]);
  if (opts.hcrc) {
    const h = Buffer.alloc(2);
    h.writeUInt16LE(crc32(header) & 0xffff);
    header = Buffer.concat([header, h]);
  }
  const trailer = Buffer.alloc(8);
  trailer.writeUInt32LE(crc32(data), 0);
  trailer.writeUInt32LE(data.length >>> 0, 4);
  return Buffer.concat([header, zlib.deflateRawSync(data, { level }), trailer]);
}

describe("block types against node:zlib", () => {
  const text = sample(200_000);
  const cases: [string, Buffer][] = [
    ["stored (level 0)", zlib.gzipSync(text, { level: 0 })],
    ["fixed Huffman (Z_FIXED)", zlib.gzipSync(text, { strategy: zlib.constants.Z_FIXED })],
    ["dynamic Huffman (default)", zlib.gzipSync(text)],
    ["dynamic, level 9", zlib.gzipSync(text, { level: 9 })],
    ["Huffman only", zlib.gzipSync(text, { strategy: zlib.constants.Z_HUFFMAN_ONLY })],
    ["run-length", zlib.gzipSync(text, { strategy: zlib.constants.Z_RLE })],
    ["incompressible", zlib.gzipSync(randomBytes(100_000))],
  ];
  for (const [name, gz] of cases) {
    it(`${name}: whole, 1-byte, random and 1 KiB chunks`, () => {
      const expected = zlib.gunzipSync(gz);
      const whole = decode(gz);
      expect(whole.error).toBe("");
      expect(whole.out.equals(expected)).toBe(true);
      for (const seed of [1, 2, 3]) {
        const r = decode(gz, randomChunks(gz.length, seed, seed === 1 ? 13 : 5000));
        expect(r.status, r.error).toBe(1);
        expect(r.out.equals(expected)).toBe(true);
      }
      const k = decodeFixed(gz, 1024);
      expect(k.out.equals(expected)).toBe(true);
    });
  }

  it("one byte per chunk over a whole stream", () => {
    const data = sample(30_000, 9);
    for (const gz of [zlib.gzipSync(data), zlib.gzipSync(data, { level: 0 }), zlib.gzipSync(data, { strategy: zlib.constants.Z_FIXED })]) {
      const r = decodeFixed(gz, 1);
      expect(r.status, r.error).toBe(1);
      expect(r.out.equals(data)).toBe(true);
    }
  });

  it("empty input and an empty payload", () => {
    expect(decode(Buffer.alloc(0))).toMatchObject({ status: 1, out: Buffer.alloc(0) });
    const r = decode(zlib.gzipSync(Buffer.alloc(0)));
    expect(r.status).toBe(1);
    expect(r.out.length).toBe(0);
  });

  it("raw deflate streams", () => {
    const data = sample(50_000, 4);
    const raw = zlib.deflateRawSync(data);
    expect(decode(raw, randomChunks(raw.length, 5, 100), RAW).out.equals(data)).toBe(true);
    expect(decode(Buffer.concat([raw, Buffer.from([1])]), [], RAW).error).toMatch(/after the end of the deflate stream/);
    expect(decode(raw.subarray(0, raw.length - 3), [], RAW)).toMatchObject({ status: 2, error: "unexpected end of deflate stream" });
  });

  it("bounds the output of one pull", () => {
    const data = Buffer.alloc(1_000_000, 0x61); // compresses ~1000:1
    const gz = zlib.gzipSync(data);
    expect(decode(gz).out.equals(data)).toBe(true);
    expect(m.exports.maxPull()).toBeLessThanOrEqual(65536);
    expect(m.exports.pulls()).toBeGreaterThan(1_000_000 / 65536);
  });
});

describe("gzip container", () => {
  const data = Buffer.from('data: {"usage":{"total_tokens":42}}\n\n'.repeat(50));

  it("header flags FEXTRA, FNAME, FCOMMENT and FHCRC", () => {
    const gz = member(data, { extra: Buffer.from("AB\x04\x00wxyz"), name: "usage.txt", comment: "a comment", hcrc: true });
    expect(zlib.gunzipSync(gz).equals(data)).toBe(true); // node agrees the member is valid
    for (const chunks of [[], randomChunks(gz.length, 3, 3)]) {
      const r = decode(gz, chunks);
      expect(r.status, r.error).toBe(1);
      expect(r.out.equals(data)).toBe(true);
    }
    const bad = Buffer.from(gz);
    const hcrcAt = gz.indexOf(Buffer.from("a comment\0")) + 10;
    bad[hcrcAt] ^= 1;
    expect(decode(bad).error).toBe("header crc mismatch");
  });

  it("several members, split anywhere, with distances never reaching into the previous member", () => {
    const a = sample(70_000, 11),
      b = sample(40_000, 12),
      c = Buffer.from("short");
    const gz = Buffer.concat([zlib.gzipSync(a), member(b, { name: "b" }), zlib.gzipSync(c, { level: 0 }), zlib.gzipSync(Buffer.alloc(0))]);
    const expected = Buffer.concat([a, b, c]);
    expect(zlib.gunzipSync(gz).equals(expected)).toBe(true);
    for (const chunks of [[], randomChunks(gz.length, 21, 7), randomChunks(gz.length, 22, 9000)]) {
      const r = decode(gz, chunks);
      expect(r.status, r.error).toBe(1);
      expect(r.out.equals(expected)).toBe(true);
    }
  });

  it("corrupted data is an error, never a trap", () => {
    const gz = zlib.gzipSync(sample(20_000, 3));
    const badMagic = Buffer.from(gz);
    badMagic[0] = 0x1e;
    expect(decode(badMagic).error).toMatch(/not a gzip stream/);
    const badMethod = Buffer.from(gz);
    badMethod[2] = 7;
    expect(decode(badMethod).error).toBe("unknown compression method");
    const badFlags = Buffer.from(gz);
    badFlags[3] = 0x20;
    expect(decode(badFlags).error).toBe("unknown header flags set");
    const badCrc = Buffer.from(gz);
    badCrc[gz.length - 8] ^= 0xff;
    expect(decode(badCrc).error).toMatch(/CRC-32 mismatch/);
    const badSize = Buffer.from(gz);
    badSize[gz.length - 1] ^= 0x01;
    expect(decode(badSize).error).toMatch(/ISIZE mismatch/);
    const badType = Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 0x07]);
    expect(decode(badType).error).toBe("invalid block type");
    const badStored = Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 0x01, 5, 0, 5, 0]);
    expect(decode(badStored).error).toBe("invalid stored block lengths");
    const garbage = Buffer.concat([gz, Buffer.from("xx")]);
    expect(decode(garbage).error).toBe("trailing garbage after gzip member");
    // A distance before the start of the output: raw deflate, fixed block, length 3 at distance 1 first thing.
    expect(decode(Buffer.from([0x03, 0x02, 0x00]), [], RAW).error).toBe("invalid distance too far back");

    // Flip bits all over the compressed data: every outcome is a clean result or a reported error.
    let seed = 5;
    const rnd = () => {
      seed = (seed * 1103515245 + 12345) >>> 0;
      return seed >>> 8;
    };
    let errors = 0;
    for (let i = 0; i < 300; i++) {
      const bad = Buffer.from(gz);
      const at = 10 + (rnd() % (gz.length - 18));
      bad[at] ^= 1 << (rnd() % 8);
      const r = decode(bad, randomChunks(bad.length, i, 500));
      expect([0, 1, 2]).toContain(r.status);
      if (r.status !== 1) {
        errors++;
        expect(r.error.length).toBeGreaterThan(0);
      } else expect(r.out.equals(zlib.gunzipSync(gz))).toBe(true);
    }
    expect(errors).toBeGreaterThan(250);
    expect(m.log()).toBe("");
  });

  it("truncated streams are reported at the end", () => {
    const gz = zlib.gzipSync(sample(5000, 8));
    for (const cut of [1, 5, 10, 11, 40, gz.length - 8, gz.length - 1]) {
      const r = decode(gz.subarray(0, cut));
      expect(r.status, `cut at ${cut}`).toBe(2);
      expect(r.error).toBe("unexpected end of gzip stream");
    }
  });

  it("the CRC-32 agrees with an independent implementation", () => {
    const buf = randomBytes(1001);
    const p = m.put(buf);
    expect(m.exports.crc(p, buf.length) >>> 0).toBe(crc32(buf));
    m.free(p);
  });
});

describe("usage through gzip and linear work", () => {
  it("a gzip-compressed SSE stream is still counted, in any chunking", () => {
    const gz = zlib.gzipSync(Buffer.from(chatStream({ tokens: 300 })));
    const p = m.put(gz);
    for (const chunk of [1, 7, 512, gz.length]) expect(m.exports.gzipSseOutputTokens(p, gz.length, chunk)).toBe(300n);
    m.free(p);
  });

  it("scenario 7: a gzip-compressed JSON body is still counted", () => {
    const body = Buffer.from(
      JSON.stringify({
        model: "m",
        choices: [{ message: { content: "This is a test." } }],
        usage: { prompt_tokens: 4, completion_tokens: 6, total_tokens: 10 },
      }),
    );
    const gz = zlib.gzipSync(body);
    const p = m.put(gz);
    for (const chunk of [1, 16, gz.length]) expect(m.exports.gzipJsonTotalTokens(p, gz.length, chunk)).toBe(10n);
    m.free(p);
  });

  it("a 4 MiB stream in 1 KiB chunks decodes to exactly its bytes (each input byte consumed once)", () => {
    // The decoder keeps only its 32 KiB window between chunks and never re-inflates from the start (Envoy
    // AI Gateway's O(n²) path); throughput figures belong to `make bench`, not to a timed test.
    const data = sample(4 << 20, 31);
    const r = decodeFixed(zlib.gzipSync(data), 1024);
    expect(r.status, r.error).toBe(1);
    expect(r.out.equals(data)).toBe(true);
  });
});
