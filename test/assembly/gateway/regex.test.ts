// assembly/gateway/regex.ts: RE2-subset full-match regexes, checked against JS RegExp `^(?:…)$` where the
// two syntaxes agree, and by explicit tables where RE2 differs (flags, \Q…\E, \z, limits).
import { beforeAll, describe, expect, it } from "vitest";
import { BUILD_DIR, loadLogicModule, type LogicModule } from "./request-module.js";
import { Gen, rng } from "./json-gen.js";

let m: LogicModule;
beforeAll(() => {
  m = loadLogicModule(BUILD_DIR + "logic-request.wasm");
});

/** "E:<error>" or one 0/1 per input. */
function run(pattern: string, inputs: string[]): string {
  const [pp, pl] = m.put(pattern);
  const [ip, il] = m.put(JSON.stringify(inputs));
  try {
    m.exports.regexMatch(pp, pl, ip, il);
    return m.result();
  } finally {
    m.free(pp);
    m.free(ip);
  }
}

function matches(pattern: string, inputs: string[]): boolean[] {
  const r = run(pattern, inputs);
  if (r.startsWith("E:")) throw new Error(r);
  return [...r].map((c) => c === "1");
}

// Patterns whose meaning is the same in RE2 and in JS (non-unicode mode) for inputs without \r, \v or
// non-ASCII spaces, each with a few matching examples; the inputs are the examples, mutations of them and
// random strings.
const ORACLE_PATTERNS: Array<[string, string[]]> = [
  ["", [""]],
  ["abc", ["abc"]],
  ["a.c", ["abc", "a c"]],
  ["a*", ["aaa"]],
  ["a+b", ["ab", "aaab"]],
  ["ab?c", ["ac", "abc"]],
  ["a{2}", ["aa"]],
  ["a{2,}", ["aaaa"]],
  ["a{2,4}", ["aaa"]],
  ["a{0}", [""]],
  ["a{0,0}b", ["b"]],
  ["(?:a{2}){1,2}", ["aaaa"]],
  ["(ab)+", ["abab"]],
  ["(?:ab|cd)*e", ["abcde"]],
  ["[a-z]+", ["xyz"]],
  ["[^a-z]+", ["AB1"]],
  ["[a-z0-9_-]+", ["a-1_"]],
  ["\\d+", ["019"]],
  ["\\w+", ["a_1"]],
  ["\\s*x", [" \tx"]],
  ["\\D\\W\\S", ["a-b"]],
  ["llama-.*", ["llama-3"]],
  ["gpt-4o(-mini)?", ["gpt-4o", "gpt-4o-mini"]],
  ["(a|b)*abb", ["babb"]],
  ["a|b|", ["", "b"]],
  ["(|a)b", ["b", "ab"]],
  [".*", ["x y"]],
  ["x*y*z*", ["xzz"]],
  ["[.]", ["."]],
  ["\\.", ["."]],
  ["a\\.b", ["a.b"]],
  ["[\\d.]+", ["1.0"]],
  ["[\\]a]+", ["]a"]],
  ["[a\\-z]+", ["a-z"]],
  ["[-a]+", ["-a"]],
  ["[a-]+", ["a-"]],
  ["^abc$", ["abc"]],
  ["(^a|b$)", ["a"]],
  ["a^b", []],
  ["a$b", []],
  ["\\bfoo\\b", ["foo"]],
  ["a\\Bb", ["ab"]],
  ["foo\\b.*", ["foo bar", "foo"]],
  ["(a*)*", ["aa"]],
  ["(a|aa)+", ["aaa"]],
  ["(x+x+)+y", ["xxy"]],
  ["[\\x41-\\x43]+", ["ABC"]],
  ["\\x41", ["A"]],
  ["\\t", ["\t"]],
  ["[^\\n]*", ["ab c"]],
  ["\\\\", ["\\"]],
  ["\\/", ["/"]],
  ["a{,3}", ["a{,3}"]],
  ["a{", ["a{"]],
  ["{", ["{"]],
  ["x{1,2}?y", ["xy", "xxy"]],
  ["a*?b", ["aab"]],
  ["a+?", ["aa"]],
  ["a??", ["a", ""]],
  ["[^\\d\\s]+", ["ab-"]],
  ["[\\w.-]+@[\\w.-]+", ["a.b@c-d"]],
  ["Qwen/Qwen2\\.5-.*", ["Qwen/Qwen2.5-7B"]],
  ["meta-llama/Llama-3\\.[0-9]+-8B(-Instruct)?", ["meta-llama/Llama-3.1-8B", "meta-llama/Llama-3.10-8B-Instruct"]],
  ["(?:mistral|mixtral)-[0-9]+x?[0-9]*b", ["mixtral-8x7b", "mistral-7b"]],
  ["((a|b)c)*", ["acbc"]],
  ["[[:alpha:]]+", ["aZ"]],
  ["[[:digit:][:upper:]]+", ["1A"]],
  ["[^[:space:]]+", ["a-b"]],
];

const ALPHABET = "abcxyz019_-. \tAB\n/@{},";

function oracle(pattern: string): RegExp {
  const js = pattern
    .replace(/\[\[:alpha:\]\]/g, "[a-zA-Z]")
    .replace(/\[\[:digit:\]\[:upper:\]\]/g, "[0-9A-Z]")
    .replace(/\[\^\[:space:\]\]/g, "[^\\t\\n\\v\\f\\r ]");
  return new RegExp("^(?:" + js + ")$");
}

describe("regex against JS RegExp", () => {
  for (const [pattern, examples] of ORACLE_PATTERNS) {
    it(`agrees on ${JSON.stringify(pattern)}`, () => {
      const g = new Gen(rng(7919 + pattern.length * 31 + (pattern.charCodeAt(0) || 0)));
      const letters = [...new Set([...pattern.replace(/[\\[\]()*+?{}|^$]/g, ""), ...ALPHABET])];
      const inputs = ["", "abc", "foo", "gpt-4o-mini", "aaaa", "a\nb", ...examples];
      for (const ex of examples) {
        for (let i = 0; i < 20; i++) {
          const b = [...ex];
          const at = g.int(b.length + 1);
          const op = g.int(3);
          if (op === 0) b.splice(at, 0, g.pick(letters));
          else if (op === 1) b.splice(at, 1);
          else b[Math.min(at, Math.max(0, b.length - 1))] = g.pick(letters);
          inputs.push(b.join(""));
        }
      }
      for (let i = 0; i < 200; i++) {
        let s = "";
        const n = g.int(9);
        for (let k = 0; k < n; k++) s += g.pick(letters);
        inputs.push(s);
      }
      const re = oracle(pattern);
      for (const ex of examples) expect(re.test(ex), ex).toBe(true);
      expect(matches(pattern, inputs)).toEqual(inputs.map((s) => re.test(s)));
    });
  }
});

describe("regex: RE2 syntax beyond the JS oracle", () => {
  const table: Array<[string, string[], string]> = [
    ["(?i)llama-3", ["LLaMA-3", "llama-3", "LLAMA-4"], "110"],
    ["(?i:ab)c", ["ABc", "abc", "ABC"], "110"],
    ["a(?i)b|c", ["aB", "C", "ab", "Ab"], "1110"],
    ["(?i)[a-c]+", ["AbC", "abd"], "10"],
    ["(?i)é", ["É", "é", "e"], "110"],
    ["(?s)a.b", ["a\nb", "axb"], "11"],
    ["a.b", ["a\nb", "axb", "a\rb"], "011"],
    ["(?m)a$\\n^b", ["a\nb"], "1"],
    ["a$\\n^b", ["a\nb"], "0"],
    ["(?i)(?-i:a)b", ["aB", "AB"], "10"],
    ["\\Qa.b*\\E", ["a.b*", "axb*", "a.bb"], "100"],
    ["\\Qa.b", ["a.b", "axb"], "10"],
    ["(?P<name>ab)+", ["abab", "aba"], "10"],
    ["(?<name>ab)", ["ab"], "1"],
    ["\\Aab\\z", ["ab", "ab\n"], "10"],
    ["\\x{1F600}+", ["😀😀", "😀x"], "10"],
    ["a.b", ["a😀b", "a😀😀b"], "10"],
    ["[😀-😂]", ["😁", "😃"], "10"],
    ["[^a]", ["😀", "a"], "10"],
    ["\\a\\f\\v", ["\u0007\f\u000b"], "1"],
    ["[[:^digit:]]+", ["ab", "a1"], "10"],
    ["[[:word:]]+", ["a_1", "a-1"], "10"],
    ["\\s", ["\u000b", " "], "01"], // RE2's \s has no \v
    ["\\**", ["***", ""], "11"],
  ];
  for (const [pattern, inputs, expected] of table) {
    it(`${JSON.stringify(pattern)} on ${JSON.stringify(inputs)}`, () => {
      expect(run(pattern, inputs)).toBe(expected);
    });
  }

  const rejected: Array<[string, string]> = [
    ["*a", "missing argument to repetition operator: *"],
    ["a|*", "missing argument to repetition operator: *"],
    ["(+)", "missing argument to repetition operator: +"],
    ["{2}", "missing argument to repetition operator: {2}"],
    ["a**", "bad repetition operator"],
    ["a*+", "bad repetition operator"],
    ["x{2}{3}", "bad repetition operator"],
    ["a{1001}", "bad repetition operator: {1001}"],
    ["a{3,2}", "bad repetition operator: {3,2}"],
    ["(a", "missing closing )"],
    ["a)", "unexpected )"],
    ["[a", "missing closing ]"],
    ["[]", "missing closing ]"],
    ["[z-a]", "invalid character class range: z-a"],
    ["[a-\\d]", "invalid character class range"],
    ["[[:foo:]]", "invalid character class range: [:foo:]"],
    ["\\1", "invalid escape sequence: \\1"],
    ["\\pL", "Unicode classes"],
    ["\\p{Greek}", "Unicode classes"],
    ["\\C", "invalid escape sequence: \\C"],
    ["\\Z", "invalid escape sequence: \\Z"],
    ["\\xZZ", "invalid escape sequence: \\x"],
    ["\\x{110000}", "invalid escape sequence: \\x"],
    ["a\\", "trailing \\"],
    ["(?=a)", "lookahead is not supported"],
    ["(?!a)", "lookahead is not supported"],
    ["(?<=a)b", "lookbehind is not supported"],
    ["(?z)a", "invalid or unsupported flag in group: z"],
    ["(?i", "missing closing )"],
    ["(?)", "missing flags"],
    ["(?P<>a)", "invalid named capture"],
    ["(a{1000}){1000}", "pattern too large"],
    ["(".repeat(101) + "a" + ")".repeat(101), "groups nested deeper than 100 levels"],
    ["(".repeat(5000), "groups nested deeper than 100 levels"],
  ];
  for (const [pattern, message] of rejected) {
    it(`rejects ${JSON.stringify(pattern.length > 40 ? pattern.slice(0, 40) + "…" : pattern)}`, () => {
      const r = run(pattern, []);
      const shown = pattern.length > 80 ? pattern.slice(0, 80) + "…" : pattern;
      expect(r.startsWith("E:invalid regex `" + shown + "`: "), r).toBe(true);
      expect(r).toContain(message);
    });
  }

  it("accepts 100 nested groups", () => {
    expect(run("(".repeat(100) + "a" + ")".repeat(100), ["a", "b"])).toBe("10");
  });

  it("runs in linear time on patterns that make backtracking engines explode", () => {
    const long = "a".repeat(20000);
    const t0 = performance.now();
    expect(matches("(a*)*b", [long, long + "b"])).toEqual([false, true]);
    expect(matches("(x+x+)+y", ["x".repeat(5000)])).toEqual([false]);
    expect(matches("(a|aa)+", [long])).toEqual([true]);
    expect(performance.now() - t0).toBeLessThan(3000);
  });
});
