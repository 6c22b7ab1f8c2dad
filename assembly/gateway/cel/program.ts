// llmRequestCosts CEL expressions: compile once at configure time (parse, type-check, dry-run with zero values,
// as Envoy AI Gateway's internal/llmcostcel does), then evaluate per request without allocating.
// Runtime errors follow cel-go's messages: "integer overflow", "unsigned integer overflow", "division by zero",
// "modulus by zero"; a negative int result is an error, since a cost must be non-negative.

import {
  CelAst, CelParser, formatCelError, typeName, STRING_VARIABLES, STR_BACKEND, STR_MODEL, STR_ROUTE_NAME,
  T_INT, T_STRING, T_UINT,
  N_ADD, N_AND, N_COND, N_CONST, N_DIV, N_EQ, N_GE, N_GT, N_LE, N_LT, N_MOD, N_MUL, N_NE, N_NEG, N_NOT, N_OR,
  N_STRING, N_SUB, N_TO_INT, N_TO_UINT, N_TOKENS,
  TOKENS_CACHE_CREATION_INPUT, TOKENS_CACHED_INPUT, TOKENS_INPUT, TOKENS_OUTPUT, TOKENS_REASONING, TOKENS_TOTAL,
} from "./parser";

export const CEL_ERR_INT_OVERFLOW = "integer overflow";
export const CEL_ERR_UINT_OVERFLOW = "unsigned integer overflow";
export const CEL_ERR_DIVIDE_BY_ZERO = "division by zero";
export const CEL_ERR_MODULUS_BY_ZERO = "modulus by zero";
export const CEL_ERR_NEGATIVE = "CEL expression result is negative";

/** The variables an expression can read; unset token counts are 0. */
export class CelVars {
  model: string = "";
  backend: string = "";
  /** "namespace/name" of the AIGatewayRoute. */
  routeName: string = "";
  inputTokens: u64 = 0;
  cachedInputTokens: u64 = 0;
  cacheCreationInputTokens: u64 = 0;
  outputTokens: u64 = 0;
  totalTokens: u64 = 0;
  reasoningTokens: u64 = 0;
}

/** Result of compileCel: a program, or the error (cel-go style, with line:column and a caret). */
export class CelCompileResult {
  program: CelProgram | null = null;
  error: string = "";
}

export function compileCel(source: string): CelCompileResult {
  const result = new CelCompileResult();
  const parser = new CelParser(source);
  if (!parser.parse()) {
    result.error = parser.error;
    return result;
  }
  const ast = parser.ast;
  const t = ast.type[ast.root];
  if (t != T_INT && t != T_UINT) {
    result.error = formatCelError(source, ast.pos[ast.root],
      "CEL expression result is not an integer, got " + typeName(t) + " (a cost must be int or uint)");
    return result;
  }
  const program = new CelProgram(source, ast);
  // Dry run with zero values: an expression that cannot even evaluate then refuses the configuration.
  if (!program.evaluate(new CelVars())) {
    result.error = "failed to evaluate CEL expression with zero values: " + program.error;
    return result;
  }
  result.program = program;
  return result;
}

export class CelProgram {
  readonly source: string;
  /** T_INT or T_UINT: the static type of the result. */
  readonly resultType: i32;
  /** The value of the last successful evaluate(). */
  value: u64 = 0;
  /** "" after a successful evaluate(), else the reason (a static string: evaluation never allocates). */
  error: string = "";

  private op: StaticArray<i32>;
  private a: StaticArray<i32>;
  private b: StaticArray<i32>;
  private c: StaticArray<i32>;
  private operandType: StaticArray<i32>;
  private constant: StaticArray<u64>;
  private strings: StaticArray<string>;
  private tokens: StaticArray<u64> = new StaticArray<u64>(6);
  private root: i32;

  constructor(source: string, ast: CelAst) {
    this.source = source;
    this.resultType = ast.type[ast.root];
    this.root = ast.root;
    this.op = StaticArray.fromArray<i32>(ast.op);
    this.a = StaticArray.fromArray<i32>(ast.a);
    this.b = StaticArray.fromArray<i32>(ast.b);
    this.c = StaticArray.fromArray<i32>(ast.c);
    this.operandType = StaticArray.fromArray<i32>(ast.operandType);
    this.constant = StaticArray.fromArray<u64>(ast.value);
    this.strings = StaticArray.fromArray<string>(ast.strings);
  }

  /** Evaluates with `vars`; true with the cost in `value`, or false with `error` set. */
  evaluate(vars: CelVars): bool {
    const strings = this.strings;
    strings[STR_MODEL] = vars.model;
    strings[STR_BACKEND] = vars.backend;
    strings[STR_ROUTE_NAME] = vars.routeName;
    const tokens = this.tokens;
    tokens[TOKENS_INPUT] = vars.inputTokens;
    tokens[TOKENS_CACHED_INPUT] = vars.cachedInputTokens;
    tokens[TOKENS_CACHE_CREATION_INPUT] = vars.cacheCreationInputTokens;
    tokens[TOKENS_OUTPUT] = vars.outputTokens;
    tokens[TOKENS_TOTAL] = vars.totalTokens;
    tokens[TOKENS_REASONING] = vars.reasoningTokens;
    this.error = "";
    const v = this.eval(this.root);
    // Drop the request's strings so the program does not keep them alive.
    for (let i = 0; i < STRING_VARIABLES; i++) strings[i] = "";
    if (this.error.length > 0) return false;
    if (this.resultType == T_INT && <i64>v < 0) {
      this.error = CEL_ERR_NEGATIVE;
      return false;
    }
    this.value = v;
    return true;
  }

  // Values are 64-bit patterns: int as i64, uint as u64, bool as 0/1, string as a string-table index.
  private eval(n: i32): u64 {
    const op = unchecked(this.op[n]);
    switch (op) {
      case N_CONST: return unchecked(this.constant[n]);
      case N_STRING: return <u64>unchecked(this.a[n]);
      case N_TOKENS: return unchecked(this.tokens[unchecked(this.a[n])]);
      case N_AND: case N_OR: return this.logical(n, op == N_AND);
      case N_COND: {
        const cond = this.eval(unchecked(this.a[n]));
        if (this.error.length > 0) return 0;
        return this.eval(cond != 0 ? unchecked(this.b[n]) : unchecked(this.c[n]));
      }
      case N_NOT: {
        const x = this.eval(unchecked(this.a[n]));
        return x == 0 ? 1 : 0;
      }
      case N_NEG: {
        const x = <i64>this.eval(unchecked(this.a[n]));
        if (x == i64.MIN_VALUE) return this.fail(CEL_ERR_INT_OVERFLOW);
        return <u64>(-x);
      }
      case N_TO_INT: {
        const x = this.eval(unchecked(this.a[n]));
        if (unchecked(this.operandType[n]) == T_UINT && x > <u64>i64.MAX_VALUE) return this.fail(CEL_ERR_INT_OVERFLOW);
        return x;
      }
      case N_TO_UINT: {
        const x = this.eval(unchecked(this.a[n]));
        if (unchecked(this.operandType[n]) == T_INT && <i64>x < 0) return this.fail(CEL_ERR_UINT_OVERFLOW);
        return x;
      }
    }
    const l = this.eval(unchecked(this.a[n]));
    if (this.error.length > 0) return 0;
    const r = this.eval(unchecked(this.b[n]));
    if (this.error.length > 0) return 0;
    const t = unchecked(this.operandType[n]);
    if (op >= N_EQ && op <= N_GE) return this.compare(op, t, l, r) ? 1 : 0;
    return t == T_INT ? this.intArithmetic(op, <i64>l, <i64>r) : this.uintArithmetic(op, l, r);
  }

  // CEL's logical operators are commutative over errors: `false && error` and `error && false` are false.
  private logical(n: i32, isAnd: bool): u64 {
    const absorbing: u64 = isAnd ? 0 : 1;
    const l = this.eval(unchecked(this.a[n]));
    if (this.error.length == 0 && l == absorbing) return absorbing;
    const leftError = this.error;
    this.error = "";
    const r = this.eval(unchecked(this.b[n]));
    if (this.error.length == 0 && r == absorbing) return absorbing;
    if (leftError.length > 0) {
      this.error = leftError;
      return 0;
    }
    return r;
  }

  private compare(op: i32, t: i32, l: u64, r: u64): bool {
    let cmp: i32;
    if (t == T_INT) cmp = <i64>l < <i64>r ? -1 : (<i64>l > <i64>r ? 1 : 0);
    else if (t == T_STRING) {
      const ls = unchecked(this.strings[<i32>l]);
      const rs = unchecked(this.strings[<i32>r]);
      if (op == N_EQ) return ls == rs;
      if (op == N_NE) return ls != rs;
      cmp = ls < rs ? -1 : (ls > rs ? 1 : 0);
    } else cmp = l < r ? -1 : (l > r ? 1 : 0); // uint, and bool (false < true)
    switch (op) {
      case N_EQ: return cmp == 0;
      case N_NE: return cmp != 0;
      case N_LT: return cmp < 0;
      case N_LE: return cmp <= 0;
      case N_GT: return cmp > 0;
    }
    return cmp >= 0;
  }

  private intArithmetic(op: i32, l: i64, r: i64): u64 {
    switch (op) {
      case N_ADD: {
        const s = l + r;
        if (((l ^ s) & (r ^ s)) < 0) return this.fail(CEL_ERR_INT_OVERFLOW);
        return <u64>s;
      }
      case N_SUB: {
        const s = l - r;
        if (((l ^ r) & (l ^ s)) < 0) return this.fail(CEL_ERR_INT_OVERFLOW);
        return <u64>s;
      }
      case N_MUL: {
        if ((l == -1 && r == i64.MIN_VALUE) || (r == -1 && l == i64.MIN_VALUE)) return this.fail(CEL_ERR_INT_OVERFLOW);
        const p = l * r;
        if (l != 0 && p / l != r) return this.fail(CEL_ERR_INT_OVERFLOW);
        return <u64>p;
      }
      case N_DIV: {
        if (r == 0) return this.fail(CEL_ERR_DIVIDE_BY_ZERO);
        if (l == i64.MIN_VALUE && r == -1) return this.fail(CEL_ERR_INT_OVERFLOW);
        return <u64>(l / r);
      }
    }
    // N_MOD
    if (r == 0) return this.fail(CEL_ERR_MODULUS_BY_ZERO);
    if (l == i64.MIN_VALUE && r == -1) return this.fail(CEL_ERR_INT_OVERFLOW);
    return <u64>(l % r);
  }

  private uintArithmetic(op: i32, l: u64, r: u64): u64 {
    switch (op) {
      case N_ADD: {
        const s = l + r;
        if (s < l) return this.fail(CEL_ERR_UINT_OVERFLOW);
        return s;
      }
      case N_SUB: {
        if (r > l) return this.fail(CEL_ERR_UINT_OVERFLOW);
        return l - r;
      }
      case N_MUL: {
        const p = l * r;
        if (l != 0 && p / l != r) return this.fail(CEL_ERR_UINT_OVERFLOW);
        return p;
      }
      case N_DIV: {
        if (r == 0) return this.fail(CEL_ERR_DIVIDE_BY_ZERO);
        return l / r;
      }
    }
    if (r == 0) return this.fail(CEL_ERR_MODULUS_BY_ZERO);
    return l % r;
  }

  private fail(message: string): u64 {
    if (this.error.length == 0) this.error = message;
    return 0;
  }
}

/** Values of CelProgram.resultType. */
export { T_INT as CEL_TYPE_INT, T_UINT as CEL_TYPE_UINT } from "./parser";
