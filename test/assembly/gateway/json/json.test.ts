// The JSON scanner (assembly/gateway/json/scan.ts) and reader (reader.ts, decode.ts) against JSON.parse,
// once as built (SIMD string skipping) and once built without SIMD (the SWAR fallback).
import { execFileSync } from "node:child_process";
import { beforeAll, describe, expect, it } from "vitest";
import { BUILD_DIR, loadLogicModule, type LogicModule } from "../request-module.js";
import { Gen, oracleValid, rng } from "../json-gen.js";

let m: LogicModule;

function loadVariant(simd: boolean): LogicModule {
  if (simd) return loadLogicModule(BUILD_DIR + "logic-request.wasm");
  const out = BUILD_DIR + "logic-request.nosimd.wasm";
  execFileSync("node_modules/.bin/asc", ["test/modules/logic-request.ts", "--config", "test/modules/asconfig.json", "--disable", "simd", "--outFile", out], {
    stdio: "inherit",
  });
  return loadLogicModule(out);
}

function validate(doc: string | Uint8Array): { code: number; message: string; offset: number } {
  const [ptr, len] = m.put(doc);
  try {
    const code = m.exports.validate(ptr, len) as number;
    return { code, message: m.result(), offset: code ? (m.exports.errorOffset(ptr) as number) : -1 };
  } finally {
    m.free(ptr);
  }
}

function dump(doc: string | Uint8Array): { code: number; text: string } {
  const [ptr, len] = m.put(doc);
  try {
    const code = m.exports.readerDump(ptr, len) as number;
    return { code, text: m.result() };
  } finally {
    m.free(ptr);
  }
}

const bytes = (s: string) => new Uint8Array(Buffer.from(s, "utf8"));

for (const simd of [true, false]) {
  describe(simd ? "with SIMD" : "without SIMD (SWAR)", () => {
    beforeAll(() => {
      m = loadVariant(simd);
    }, 180_000); // building the variant takes a while on a busy machine

    describe("JSON validation", () => {
      const valid = [
        "{}",
        "[]",
        '""',
        "0",
        "-0",
        "1",
        "-1",
        "0.5",
        "-0.0",
        "1e5",
        "1E5",
        "1e+5",
        "1e-5",
        "1.25E-10",
        "123456789012345678901234567890",
        "true",
        "false",
        "null",
        ' \n\t\r{ "a" : [ 1 , 2 , { } , [ ] ] } \n',
        '{"a":"\\u00e9\\uD83D\\ude00"}',
        '"\\"\\\\\\/\\b\\f\\n\\r\\t"',
        '"é😀中"',
        '{"":""}',
        "[[[[[]]]]]",
        '{"a":1,"a":2}',
        "[1e999]",
        '"\u007f"',
      ];
      for (const doc of valid) {
        it(`accepts ${JSON.stringify(doc)}`, () => {
          expect(oracleValid(bytes(doc))).toBe(true);
          expect(validate(doc)).toMatchObject({ code: 0 });
        });
      }

      // [document, error code, offset of the error]
      const invalid: Array<[string, number, number]> = [
        ["", 1, 0],
        ["   ", 1, 3],
        ["{", 1, 1],
        ['{"a"', 1, 4],
        ['{"a":', 1, 5],
        ['{"a":1', 1, 6],
        ['{"a":1,}', 12, 7], // trailing comma in object
        ["[1,]", 2, 3], // trailing comma in array
        ["[1 2]", 14, 3],
        ['{"a" 1}', 13, 5],
        ["{'a':1}", 12, 1], // single quotes
        ["{\"a\":'x'}", 2, 5],
        ["{a:1}", 12, 1],
        ['"abc', 1, 4],
        ['"a\u0001b"', 6, 2], // control character
        ['"a\tb"', 6, 2], // raw tab
        ['"\\x"', 3, 1], // bad escape
        ['"\\u12G4"', 4, 1],
        ['"\\u12"', 4, 1],
        ['"\\ud800"', 5, 1], // lone high surrogate
        ['"\\udc00"', 5, 1], // lone low surrogate
        ['"\\ud800\\u0041"', 5, 1], // high surrogate + non-low
        ['"\\ud800x"', 5, 1],
        ["01", 8, 0], // leading zero
        ["-01", 8, 0],
        ["1.", 1, 2],
        ["1.e5", 8, 0],
        [".5", 2, 0],
        ["-", 1, 1],
        ["-a", 8, 0],
        ["+1", 2, 0],
        ["1e", 1, 2],
        ["1e+", 1, 3],
        ["1ea", 8, 0],
        ["0x10", 11, 1],
        ["1 2", 11, 2], // trailing garbage
        ["{} x", 11, 3],
        ["{}}", 11, 2],
        ["tru", 1, 3],
        ["trux", 9, 0],
        ["nul", 1, 3],
        ["falsy", 9, 0],
        ["True", 2, 0],
        ["NaN", 2, 0],
        ["[Infinity]", 2, 1],
        ["\ufeff{}", 2, 0], // BOM
        ['{"a":1}\u0000', 11, 7],
        ["[", 1, 1],
        ["]", 2, 0],
        ['{"a":1 "b":2}', 14, 7],
        ['{,"a":1}', 12, 1],
        ["[,1]", 2, 1],
      ];
      for (const [doc, code, offset] of invalid) {
        it(`rejects ${JSON.stringify(doc)} with code ${code} at ${offset}`, () => {
          expect(oracleValid(bytes(doc))).toBe(false);
          const r = validate(doc);
          expect(r.code).toBe(code);
          expect(r.offset).toBe(offset);
          expect(r.message.length).toBeGreaterThan(10);
        });
      }

      it("writes readable error messages", () => {
        expect(validate('{"a":1,}').message).toBe("invalid character '}' looking for beginning of object key string at offset 7");
        expect(validate('{"a":x}').message).toBe("invalid character 'x' looking for beginning of value at offset 5");
        expect(validate('{"a":1}x').message).toBe("invalid character 'x' after top-level value at offset 7");
        expect(validate('"a\u0001"').message).toBe("invalid control character 0x01 in string at offset 2");
        expect(validate('{"a"').message).toBe("unexpected end of JSON input");
      });

      it("rejects malformed UTF-8 inside strings and accepts every well-formed sequence length", () => {
        const wrap = (...b: number[]) => new Uint8Array([0x22, ...b, 0x22]);
        const bad = [
          [0x80],
          [0xbf],
          [0xc0, 0x80],
          [0xc1, 0xbf],
          [0xc2],
          [0xc2, 0x41],
          [0xe0, 0x80, 0x80],
          [0xe0, 0x9f, 0xbf],
          [0xed, 0xa0, 0x80],
          [0xed, 0xbf, 0xbf],
          [0xe2, 0x82],
          [0xf0, 0x80, 0x80, 0x80],
          [0xf0, 0x8f, 0xbf, 0xbf],
          [0xf4, 0x90, 0x80, 0x80],
          [0xf5, 0x80, 0x80, 0x80],
          [0xff],
          [0xfe],
          [0xf0, 0x9f, 0x98],
        ];
        for (const b of bad) {
          const doc = wrap(...b);
          expect(oracleValid(doc), JSON.stringify(b)).toBe(false);
          const code = validate(doc).code;
          expect([7, 1], JSON.stringify(b)).toContain(code);
        }
        const good = [
          [0xc2, 0x80],
          [0xdf, 0xbf],
          [0xe0, 0xa0, 0x80],
          [0xed, 0x9f, 0xbf],
          [0xee, 0x80, 0x80],
          [0xef, 0xbf, 0xbf],
          [0xf0, 0x90, 0x80, 0x80],
          [0xf4, 0x8f, 0xbf, 0xbf],
        ];
        for (const b of good) {
          expect(oracleValid(wrap(...b))).toBe(true);
          expect(validate(wrap(...b)).code, JSON.stringify(b)).toBe(0);
        }
        // Outside a string, a non-ASCII byte is just an invalid character.
        expect(validate(new Uint8Array([0x5b, 0xc3, 0xa9, 0x5d])).code).toBe(2);
      });

      it("finds specials at every position of a SIMD block and in the scalar tail", () => {
        for (let len = 0; len < 40; len++) {
          for (const special of ['\\"', "\\n", "\\u00e9", "é", "😀"]) {
            for (let at = 0; at <= len; at++) {
              const s = "a".repeat(at) + special + "b".repeat(len - at);
              const doc = '["' + s + '"]';
              expect(validate(doc).code, doc).toBe(0);
              expect(JSON.parse(dump(doc).text)).toEqual(JSON.parse(doc));
            }
            const bad = '["' + "a".repeat(len) + "\u0001" + '"]';
            expect(validate(bad)).toMatchObject({ code: 6, offset: 2 + len });
            const unterminated = '["' + "a".repeat(len);
            expect(validate(unterminated).code).toBe(1);
          }
        }
      });

      it("limits nesting to 512 levels", () => {
        const nest = (n: number) => "[".repeat(n) + "]".repeat(n);
        expect(validate(nest(512)).code).toBe(0);
        expect(validate(nest(513))).toMatchObject({ code: 10, offset: 512 });
        const objs = (n: number) => '{"a":'.repeat(n - 1) + "{}" + "}".repeat(n - 1);
        expect(validate(objs(512)).code).toBe(0);
        expect(validate(objs(513)).code).toBe(10);
        expect(validate("[".repeat(100000)).code).toBe(10);
      });

      it("agrees with JSON.parse on 3000 generated documents and their reader dumps", () => {
        const g = new Gen(rng(1));
        for (let i = 0; i < 3000; i++) {
          const doc = g.ws() + g.value(5) + g.ws();
          expect(oracleValid(bytes(doc)), doc).toBe(true);
          expect(validate(doc).code, doc).toBe(0);
          const d = dump(doc);
          expect(d.code, doc).toBe(0);
          expect(JSON.parse(d.text), doc).toEqual(JSON.parse(doc));
        }
      });

      it("agrees with the oracle on 6000 mutated documents", () => {
        const g = new Gen(rng(2));
        const alphabet = [...'{}[]:,"\\ 0123456789.eE+-tfnulrsaxu'].map((c) => c.charCodeAt(0)).concat([0x00, 0x1f, 0x80, 0xc3, 0xa9, 0xed, 0xff]);
        let rejected = 0;
        for (let i = 0; i < 6000; i++) {
          const b = Array.from(bytes(g.value(4)));
          const edits = 1 + g.int(3);
          for (let e = 0; e < edits; e++) {
            const at = g.int(b.length + 1);
            const op = g.int(3);
            if (op === 0) b.splice(at, 0, g.pick(alphabet));
            else if (op === 1 && b.length > 0) b.splice(Math.min(at, b.length - 1), 1);
            else if (b.length > 0) b[Math.min(at, b.length - 1)] = g.pick(alphabet);
          }
          const doc = new Uint8Array(b);
          const expected = oracleValid(doc);
          if (!expected) rejected++;
          expect(validate(doc).code === 0, Buffer.from(doc).toString("latin1")).toBe(expected);
          expect(dump(doc).code === 0, Buffer.from(doc).toString("latin1")).toBe(expected);
        }
        expect(rejected).toBeGreaterThan(2000);
      });

      it("rejects every proper prefix of a document that needs its last byte", () => {
        const doc = ' {"model":"m\\u00e9\\ud83d\\ude00","messages":[{"role":"user","content":"hi \\"there\\""}],"n":-1.5e+3,"ok":true,"x":null,"e":{}} ';
        const b = bytes(doc);
        expect(validate(b).code).toBe(0);
        const last = doc.lastIndexOf("}");
        for (let n = 0; n <= last; n++) {
          const r = validate(b.subarray(0, n));
          expect(r.code, doc.slice(0, n)).not.toBe(0);
          expect(oracleValid(b.subarray(0, n))).toBe(false);
        }
      });
    });

    describe("JsonReader", () => {
      it("reads integers exactly and refuses fractions and overflow", () => {
        const [ptr, len] = m.put("[0, -0, 42, -7, 9223372036854775807, -9223372036854775808, 1e3, 2.5e1, 1.5, 9223372036854775808, 1e400]");
        m.exports.readIntegers(ptr, len);
        m.free(ptr);
        expect(m.result().split("\n")).toEqual(["0", "0", "42", "-7", "9223372036854775807", "-9223372036854775808", "1000", "25", "no"]);
      });

      it("reports type mismatches and syntax errors with offsets", () => {
        const [ptr, len] = m.put('["a", 1]');
        expect(m.exports.readIntegers(ptr, len)).toBe(15);
        m.free(ptr);
        expect(dump('{"a":[1,2,]}').code).toBe(2);
        expect(dump('{"a":1,}').code).toBe(12);
        expect(dump('{"a":1} 2').code).toBe(11);
      });
    });
  });
}
