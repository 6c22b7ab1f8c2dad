// llmRequestCosts CEL (assembly/gateway/cel): parsing, cel-go typing, evaluation, overflow and error messages,
// including Envoy AI Gateway's own examples and acceptance scenarios 16, 18 and 19 (v1.1.0).
import { beforeAll, describe, expect, it } from "vitest";
import { loadLogicModule, type LogicModule } from "../logic-module.js";

let m: LogicModule;
beforeAll(() => {
  m = loadLogicModule("logic-cel");
});

interface Vars {
  model?: string;
  backend?: string;
  route?: string;
  input?: bigint;
  cached?: bigint;
  creation?: bigint;
  output?: bigint;
  total?: bigint;
  reasoning?: bigint;
}

function compile(src: string): { handle: number; error: string } {
  const p = m.put(src);
  const handle = m.exports.compile(p, Buffer.byteLength(src)) as number;
  m.free(p);
  return { handle, error: handle < 0 ? m.outText() : "" };
}

function run(handle: number, v: Vars = {}): { ok: boolean; value: bigint; error: string } {
  const s = `${v.model ?? ""}\n${v.backend ?? ""}\n${v.route ?? ""}`;
  const p = m.put(s);
  m.exports.setStrings(p, Buffer.byteLength(s));
  m.free(p);
  m.exports.setTokens(v.input ?? 0n, v.cached ?? 0n, v.creation ?? 0n, v.output ?? 0n, v.total ?? 0n, v.reasoning ?? 0n);
  const ok = m.exports.evaluate(handle) === 1;
  return { ok, value: ok ? BigInt.asUintN(64, m.exports.value(handle)) : 0n, error: ok ? "" : m.outText() };
}

function value(src: string, v: Vars = {}): bigint {
  const c = compile(src);
  if (c.handle < 0) throw new Error(`compile ${src}: ${c.error}`);
  const r = run(c.handle, v);
  if (!r.ok) throw new Error(`eval ${src}: ${r.error}`);
  return r.value;
}

function compileError(src: string): string {
  const c = compile(src);
  expect(c.handle, `${src} should not compile`).toBe(-1);
  return c.error;
}

function evalError(src: string, v: Vars): string {
  const c = compile(src);
  if (c.handle < 0) throw new Error(`compile ${src}: ${c.error}`);
  const r = run(c.handle, v);
  expect(r.ok, `${src} should fail`).toBe(false);
  return r.error;
}

describe("Envoy AI Gateway examples", () => {
  it("token_ratelimit example: input_tokens == uint(3) ? 100000000 : 0", () => {
    const c = compile("input_tokens == uint(3) ? 100000000 : 0");
    expect(c.error).toBe("");
    expect(m.exports.resultType(c.handle)).toBe(1); // int
    expect(run(c.handle, { input: 3n }).value).toBe(100000000n);
    expect(run(c.handle, { input: 4n }).value).toBe(0n);
  });

  it("llmcostcel tests: variables, ternary on model, uint arithmetic", () => {
    const src = "model == 'cool_model' ?  (input_tokens - cached_input_tokens - cached_write_input_tokens) * output_tokens  : total_tokens";
    expect(value(src, { model: "cool_model", input: 200n, cached: 100n, creation: 1n, output: 2n, total: 3n })).toBe(198n);
    expect(value(src, { model: "not_cool_model", input: 200n, cached: 100n, creation: 1n, output: 2n, total: 3n })).toBe(3n);
    expect(value("1 + 1")).toBe(2n);
    expect(value("uint(1) + uint(1)")).toBe(2n);
    expect(value("output_tokens + reasoning_tokens", { output: 7n, reasoning: 5n })).toBe(12n);
    expect(value("model == 'cool_model' ?  input_tokens * output_tokens : total_tokens", { model: "cool_model", input: 100n, output: 2n, total: 3n })).toBe(
      200n,
    );
  });

  it("scenario 16: CEL 54321 and uint(9999)", () => {
    expect(value("54321")).toBe(54321n);
    const c = compile("uint(9999)");
    expect(m.exports.resultType(c.handle)).toBe(2); // uint
    expect(run(c.handle).value).toBe(9999n);
  });

  it("scenario 18: negative int result and uint underflow are runtime errors; '1 +' is rejected", () => {
    expect(evalError("int(input_tokens) - int(output_tokens)", { input: 100n, output: 2000n })).toBe("CEL expression result is negative");
    expect(evalError("input_tokens - output_tokens", { input: 100n, output: 2000n })).toBe("unsigned integer overflow");
    expect(value("input_tokens - output_tokens", { input: 2000n, output: 100n })).toBe(1900n);
    expect(compileError("1 +")).toBe("ERROR: <input>:1:4: Syntax error: expected an operand, found end of expression\n | 1 +\n | ...^");
  });

  it("the dry run with zero values rejects expressions that cannot evaluate", () => {
    expect(compileError("uint(1)-uint(1200)")).toBe("failed to evaluate CEL expression with zero values: unsigned integer overflow");
    expect(compileError("100u / input_tokens")).toMatch(/division by zero/);
    expect(compileError("-1")).toMatch(/result is negative/);
    // Zero values pass, so these compile and fail only with real numbers.
    expect(compile("input_tokens - output_tokens").handle).toBeGreaterThanOrEqual(0);
  });
});

describe("typing follows cel-go (no implicit int/uint mixing)", () => {
  it("rejects mixed int/uint operands with cel-go's message and position", () => {
    expect(compileError("input_tokens == 3")).toBe(
      "ERROR: <input>:1:14: found no matching overload for '_==_' applied to '(uint, int)'\n | input_tokens == 3\n | .............^",
    );
    expect(compileError("input_tokens * 2")).toMatch(/'_\*_' applied to '\(uint, int\)'/);
    expect(compileError("1 + 2u")).toMatch(/'_\+_' applied to '\(int, uint\)'/);
    expect(compileError("input_tokens < 10")).toMatch(/'_<_' applied to '\(uint, int\)'/);
    expect(compileError("true ? 1 : 2u")).toMatch(/'_\?_:_' applied to '\(bool, int, uint\)'/);
    expect(compileError("input_tokens ? 1 : 2")).toMatch(/'_\?_:_' applied to '\(uint, int, int\)'/);
    expect(compileError("-input_tokens")).toMatch(/'-_' applied to '\(uint\)'/);
    expect(compileError("!1 ? 1 : 0")).toMatch(/'!_' applied to '\(int\)'/);
    expect(compileError("1 && true ? 1 : 0")).toMatch(/'_&&_' applied to '\(int, bool\)'/);
    expect(compileError("model + 'x' == 'y' ? 1 : 0")).toMatch(/'_\+_' applied to '\(string, string\)'/);
  });

  it("accepts the documented forms", () => {
    expect(value("input_tokens == 3u ? 1 : 0", { input: 3n })).toBe(1n);
    expect(value("input_tokens * 2u", { input: 21n })).toBe(42n);
    expect(value("int(input_tokens) * 2", { input: 21n })).toBe(42n);
    expect(value("uint(2) * input_tokens + 0x10u", { input: 1n })).toBe(18n);
  });

  it("requires an int or uint result", () => {
    expect(compileError("input_tokens > 1u")).toMatch(/result is not an integer, got bool/);
    expect(compileError("model")).toMatch(/result is not an integer, got string/);
  });

  it("rejects floating-point literals with an explanation", () => {
    expect(compileError("cached_input_tokens * 0.1")).toMatch(/^ERROR: <input>:1:23: floating-point literal 0\.1 is not supported/);
    expect(compileError("1e3")).toMatch(/floating-point literal 1e3/);
  });
});

describe("evaluation", () => {
  it("arithmetic and precedence", () => {
    expect(value("2 + 3 * 4")).toBe(14n);
    expect(value("(2 + 3) * 4")).toBe(20n);
    expect(value("17 / 5 * 5 + 17 % 5")).toBe(17n);
    expect(value("10 - 2 - 3")).toBe(5n);
    expect(value("-7 / 2 + 10")).toBe(7n); // truncation toward zero: -3
    expect(value("-7 % 3 + 5")).toBe(4n); // -1
    expect(value("--5")).toBe(5n);
    expect(value("- -5")).toBe(5n);
    expect(value("0xFF")).toBe(255n);
    expect(value("18446744073709551615u")).toBe(18446744073709551615n);
    expect(value("9223372036854775807")).toBe(9223372036854775807n);
  });

  it("comparisons, equality on strings, logic, ternary chains", () => {
    const src = "model == 'gpt-4o' && backend != 'cheap' ? 10u * output_tokens : (route_name >= 'ns/b' || !(input_tokens <= 5u) ? input_tokens : 0u)";
    expect(value(src, { model: "gpt-4o", backend: "openai", output: 3n })).toBe(30n);
    expect(value(src, { model: "gpt-4o", backend: "cheap", route: "ns/c", input: 2n })).toBe(2n);
    expect(value(src, { model: "x", route: "ns/a", input: 9n })).toBe(9n);
    expect(value(src, { model: "x", route: "ns/a", input: 5n })).toBe(0n);
    expect(value("true == (1 < 2) ? 1 : 0")).toBe(1n);
    expect(value("false < true ? 1 : 0")).toBe(1n);
    expect(value('"a\\"b" == \'a"b\' ? 1 : 0')).toBe(1n);
    expect(value("model == 'naïve ✓' ? 1 : 0", { model: "naïve ✓" })).toBe(1n);
    expect(value('model == "\\u00e9\\x41\\101" ? 1 : 0', { model: "éAA" })).toBe(1n);
    expect(value("r'\\d' == '\\\\d' ? 1 : 0")).toBe(1n);
    expect(value("1 < 2 ? 1 : 2 < 3 ? 2 : 3")).toBe(1n);
  });

  it("overflow and division errors carry cel-go's messages", () => {
    expect(evalError("input_tokens * input_tokens", { input: 1n << 33n })).toBe("unsigned integer overflow");
    expect(evalError("input_tokens + 18446744073709551615u", { input: 1n })).toBe("unsigned integer overflow");
    expect(evalError("int(input_tokens)", { input: 1n << 63n })).toBe("integer overflow");
    expect(evalError("int(input_tokens) * 9223372036854775807", { input: 2n })).toBe("integer overflow");
    expect(evalError("9223372036854775807 + int(input_tokens)", { input: 1n })).toBe("integer overflow");
    // Each expression is fine with the zero values of the dry run and fails only with these inputs.
    expect(evalError("-9223372036854775807 - int(input_tokens) + 9223372036854775807", { input: 2n })).toBe("integer overflow");
    expect(evalError("uint(int(input_tokens) - int(output_tokens))", { output: 1n })).toBe("unsigned integer overflow");
    expect(evalError("(-9223372036854775807 - int(input_tokens)) / (int(output_tokens) - 1)", { input: 1n })).toBe("integer overflow");
    expect(evalError("(-9223372036854775807 - int(input_tokens)) % (int(output_tokens) - 1) + 5", { input: 1n })).toBe("integer overflow");
    expect(evalError("10u / (input_tokens * output_tokens + (input_tokens == 0u ? 1u : 0u))", { input: 5n })).toBe("division by zero");
    expect(evalError("10 % (int(input_tokens) * int(output_tokens) + (input_tokens == 0u ? 1 : 0))", { input: 5n })).toBe("modulus by zero");
    expect(evalError("-(-9223372036854775807 - int(input_tokens))", { input: 1n })).toBe("integer overflow");
    expect(value("-9223372036854775808 + 9223372036854775807 + 1")).toBe(0n);
  });

  it("&& and || absorb errors like CEL; a ternary evaluates only the chosen branch", () => {
    expect(value("input_tokens - output_tokens > 0u && false ? 1 : 2", { input: 1n, output: 2n })).toBe(2n);
    expect(value("false && input_tokens - output_tokens > 0u ? 1 : 2", { input: 1n, output: 2n })).toBe(2n);
    expect(value("input_tokens - output_tokens > 0u || true ? 1 : 2", { input: 1n, output: 2n })).toBe(1n);
    expect(evalError("input_tokens - output_tokens > 0u || false ? 1 : 2", { input: 1n, output: 2n })).toBe("unsigned integer overflow");
    expect(evalError("true && input_tokens - output_tokens > 0u ? 1 : 2", { input: 1n, output: 2n })).toBe("unsigned integer overflow");
    expect(value("output_tokens > input_tokens ? 0u : input_tokens - output_tokens", { input: 1n, output: 2n })).toBe(0n);
  });

  it("evaluates the same program repeatedly with changing variables", () => {
    const c = compile("input_tokens + 2u * output_tokens");
    for (let i = 0n; i < 200n; i++) expect(run(c.handle, { input: i, output: i * 3n }).value).toBe(i * 7n);
  });
});

describe("syntax errors", () => {
  const cases: [string, RegExp][] = [
    ["", /1:1: Syntax error: empty expression/],
    ["(1 + 2", /1:7: Syntax error: expected '\)', found end of expression/],
    ["1 2", /1:3: Syntax error: unexpected '2'/],
    ["1 = 2", /1:3: Syntax error: token recognition error at: '='/],
    ["foo + 1", /1:1: undeclared reference to 'foo'/],
    ["size(model)", /1:1: undeclared reference to 'size'/],
    ["int(1, 2)", /found no matching overload for 'int' applied to '\(int, int\)'/],
    ["int()", /found no matching overload for 'int' applied to '\(\)'/],
    ["int(true) ", /'int' applied to '\(bool\)'/],
    ["model.size()", /member functions are not supported/],
    ["[1][0]", /list and map literals are not supported/],
    ["'abc", /unterminated string literal/],
    ["'a\\qb' == model ? 1 : 0", /invalid escape sequence/],
    ["b'x' == model ? 1 : 0", /bytes literals are not supported/],
    ["9223372036854775808", /integer literal out of range/],
    ["18446744073709551616u", /unsigned integer literal out of range/],
    ["1 ? 2", /Syntax error: expected ':'/],
    ["null", /null is not supported/],
    ["12abc", /malformed number literal/],
    ["1 +\n  * 2", /<input>:2:3: Syntax error: expected an operand, found '\*'/],
  ];
  for (const [src, re] of cases) {
    it(`rejects ${JSON.stringify(src)}`, () => {
      expect(compileError(src)).toMatch(re);
    });
  }

  it("limits nesting depth instead of overflowing the stack", () => {
    expect(compileError("(".repeat(300) + "1" + ")".repeat(300))).toMatch(/recursion limit/);
    expect(compileError("!".repeat(300) + "true ? 1 : 0")).toMatch(/recursion limit/);
    expect(value("(".repeat(100) + "1" + ")".repeat(100))).toBe(1n);
  });

  it("accepts comments and newlines", () => {
    expect(value("input_tokens // the prompt\n  + output_tokens // and the answer", { input: 1n, output: 2n })).toBe(3n);
  });
});
