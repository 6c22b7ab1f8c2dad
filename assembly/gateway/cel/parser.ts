// Parser and type checker for the CEL subset of llmRequestCosts expressions. It builds a flat AST (parallel
// arrays indexed by node) whose every node already carries its static type, following cel-go's checker:
// no implicit int/uint mixing (`input_tokens == 3` is "found no matching overload for '_==_' applied to
// '(uint, int)'"; write `input_tokens == uint(3)` or `3u`), cross-type numeric comparison off (cel-go default).

import {
  Lexer, TK_EOF, TK_ERROR, TK_IDENT, TK_INT, TK_OP, TK_STRING, TK_UINT,
  OP_AND, OP_COLON, OP_COMMA, OP_DOT, OP_EQ, OP_GE, OP_GT, OP_LBRACE, OP_LBRACKET, OP_LE, OP_LPAREN, OP_LT,
  OP_MINUS, OP_NE, OP_NOT, OP_OR, OP_PERCENT, OP_PLUS, OP_QUESTION, OP_RPAREN, OP_SLASH, OP_STAR,
} from "./lexer";

export const T_INT: i32 = 1;
export const T_UINT: i32 = 2;
export const T_BOOL: i32 = 3;
export const T_STRING: i32 = 4;

export function typeName(t: i32): string {
  switch (t) {
    case T_INT: return "int";
    case T_UINT: return "uint";
    case T_BOOL: return "bool";
    case T_STRING: return "string";
  }
  return "unknown";
}

// Node kinds.
export const N_CONST: i32 = 1; // int / uint / bool literal in `value`
export const N_STRING: i32 = 2; // string: `a` indexes the string table (slots 0..2 are the string variables)
export const N_TOKENS: i32 = 3; // uint token-count variable: `a` = TOKENS_* index
export const N_NEG: i32 = 4;
export const N_NOT: i32 = 5;
export const N_ADD: i32 = 6;
export const N_SUB: i32 = 7;
export const N_MUL: i32 = 8;
export const N_DIV: i32 = 9;
export const N_MOD: i32 = 10;
export const N_EQ: i32 = 11;
export const N_NE: i32 = 12;
export const N_LT: i32 = 13;
export const N_LE: i32 = 14;
export const N_GT: i32 = 15;
export const N_GE: i32 = 16;
export const N_AND: i32 = 17;
export const N_OR: i32 = 18;
export const N_COND: i32 = 19;
export const N_TO_INT: i32 = 20;
export const N_TO_UINT: i32 = 21;

// String variables (string-table slots) and token variables (N_TOKENS indexes).
export const STR_MODEL: i32 = 0;
export const STR_BACKEND: i32 = 1;
export const STR_ROUTE_NAME: i32 = 2;
export const STRING_VARIABLES: i32 = 3;
export const TOKENS_INPUT: i32 = 0;
export const TOKENS_CACHED_INPUT: i32 = 1;
export const TOKENS_CACHE_CREATION_INPUT: i32 = 2;
export const TOKENS_OUTPUT: i32 = 3;
export const TOKENS_TOTAL: i32 = 4;
export const TOKENS_REASONING: i32 = 5;

// cel-go's default parser recursion limit.
const MAX_DEPTH: i32 = 250;

/** A checked expression: node arrays plus the string table. The root is the last node added. */
export class CelAst {
  op: Array<i32> = new Array<i32>();
  type: Array<i32> = new Array<i32>();
  a: Array<i32> = new Array<i32>();
  b: Array<i32> = new Array<i32>();
  c: Array<i32> = new Array<i32>();
  /** Operand type for operators whose behaviour depends on it (arithmetic, comparisons, conversions). */
  operandType: Array<i32> = new Array<i32>();
  value: Array<u64> = new Array<u64>();
  /** Source offset of the node (its operator, or its first character). */
  pos: Array<i32> = new Array<i32>();
  strings: Array<string> = ["", "", ""];
  root: i32 = -1;

  add(op: i32, type: i32, a: i32, b: i32, c: i32, operandType: i32, value: u64, pos: i32): i32 {
    this.op.push(op);
    this.type.push(type);
    this.a.push(a);
    this.b.push(b);
    this.c.push(c);
    this.operandType.push(operandType);
    this.value.push(value);
    this.pos.push(pos);
    return this.op.length - 1;
  }
}

/** "ERROR: <input>:line:col: message" followed by the source line and a caret, as cel-go formats issues. */
export function formatCelError(src: string, offset: i32, message: string): string {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < src.length; i++) {
    if (src.charCodeAt(i) == 0x0a) { line++; lineStart = i + 1; }
  }
  let lineEnd = lineStart;
  while (lineEnd < src.length && src.charCodeAt(lineEnd) != 0x0a) lineEnd++;
  const col = offset - lineStart + 1;
  return "ERROR: <input>:" + line.toString() + ":" + col.toString() + ": " + message +
    "\n | " + src.substring(lineStart, lineEnd) + "\n | " + ".".repeat(col - 1) + "^";
}

export class CelParser {
  private lx: Lexer;
  private src: string;
  ast: CelAst = new CelAst();
  /** First error, formatted; "" when the expression parsed and checked. */
  error: string = "";
  private depth: i32 = 0;

  constructor(src: string) {
    this.src = src;
    this.lx = new Lexer(src);
  }

  parse(): bool {
    this.lx.next();
    if (this.lx.kind == TK_EOF) return this.fail(0, "Syntax error: empty expression");
    const root = this.expr();
    if (root < 0) return false;
    if (this.lx.kind == TK_ERROR) return this.fail(this.lx.start, this.lx.message);
    if (this.lx.kind != TK_EOF) return this.fail(this.lx.start, "Syntax error: unexpected " + this.describeToken());
    this.ast.root = root;
    return true;
  }

  private fail(offset: i32, message: string): bool {
    if (this.error.length == 0) this.error = formatCelError(this.src, offset, message);
    return false;
  }

  private failNode(offset: i32, message: string): i32 {
    this.fail(offset, message);
    return -1;
  }

  private describeToken(): string {
    const lx = this.lx;
    if (lx.kind == TK_EOF) return "end of expression";
    return "'" + this.src.substring(lx.start, lx.end) + "'";
  }

  private isOp(op: i32): bool { return this.lx.kind == TK_OP && this.lx.op == op; }

  private noOverload(offset: i32, fn: string, t1: i32, t2: i32): i32 {
    let args = typeName(t1);
    if (t2 != 0) args += ", " + typeName(t2);
    return this.failNode(offset, "found no matching overload for '" + fn + "' applied to '(" + args + ")'");
  }

  // expr := or ['?' or ':' expr]
  private expr(): i32 {
    if (++this.depth > MAX_DEPTH) return this.failNode(this.lx.start, "expression recursion limit exceeded: " + MAX_DEPTH.toString());
    const cond = this.or();
    if (cond < 0) return -1;
    let result = cond;
    if (this.isOp(OP_QUESTION)) {
      const pos = this.lx.start;
      this.lx.next();
      const yes = this.or();
      if (yes < 0) return -1;
      if (!this.isOp(OP_COLON)) return this.expected("':'");
      this.lx.next();
      const no = this.expr();
      if (no < 0) return -1;
      const ast = this.ast;
      const ct = ast.type[cond], yt = ast.type[yes], nt = ast.type[no];
      if (ct != T_BOOL || yt != nt) {
        return this.failNode(pos, "found no matching overload for '_?_:_' applied to '(" + typeName(ct) + ", " +
          typeName(yt) + ", " + typeName(nt) + ")'");
      }
      result = ast.add(N_COND, yt, cond, yes, no, 0, 0, pos);
    }
    this.depth--;
    return result;
  }

  private expected(what: string): i32 {
    if (this.lx.kind == TK_ERROR) return this.failNode(this.lx.start, this.lx.message);
    return this.failNode(this.lx.start, "Syntax error: expected " + what + ", found " + this.describeToken());
  }

  private or(): i32 {
    let left = this.and();
    while (left >= 0 && this.isOp(OP_OR)) {
      const pos = this.lx.start;
      this.lx.next();
      const right = this.and();
      if (right < 0) return -1;
      left = this.logical(N_OR, "_||_", left, right, pos);
    }
    return left;
  }

  private and(): i32 {
    let left = this.relation();
    while (left >= 0 && this.isOp(OP_AND)) {
      const pos = this.lx.start;
      this.lx.next();
      const right = this.relation();
      if (right < 0) return -1;
      left = this.logical(N_AND, "_&&_", left, right, pos);
    }
    return left;
  }

  private logical(op: i32, fn: string, left: i32, right: i32, pos: i32): i32 {
    const ast = this.ast;
    if (ast.type[left] != T_BOOL || ast.type[right] != T_BOOL) return this.noOverload(pos, fn, ast.type[left], ast.type[right]);
    return ast.add(op, T_BOOL, left, right, -1, T_BOOL, 0, pos);
  }

  private relation(): i32 {
    let left = this.addition();
    while (left >= 0 && this.lx.kind == TK_OP) {
      const o = this.lx.op;
      let op = 0;
      let fn = "";
      if (o == OP_EQ) { op = N_EQ; fn = "_==_"; }
      else if (o == OP_NE) { op = N_NE; fn = "_!=_"; }
      else if (o == OP_LT) { op = N_LT; fn = "_<_"; }
      else if (o == OP_LE) { op = N_LE; fn = "_<=_"; }
      else if (o == OP_GT) { op = N_GT; fn = "_>_"; }
      else if (o == OP_GE) { op = N_GE; fn = "_>=_"; }
      else break;
      const pos = this.lx.start;
      this.lx.next();
      const right = this.addition();
      if (right < 0) return -1;
      const ast = this.ast;
      const lt = ast.type[left], rt = ast.type[right];
      if (lt != rt) return this.noOverload(pos, fn, lt, rt);
      left = ast.add(op, T_BOOL, left, right, -1, lt, 0, pos);
    }
    return left;
  }

  private addition(): i32 {
    let left = this.multiplication();
    while (left >= 0 && (this.isOp(OP_PLUS) || this.isOp(OP_MINUS))) {
      const plus = this.lx.op == OP_PLUS;
      const pos = this.lx.start;
      this.lx.next();
      const right = this.multiplication();
      if (right < 0) return -1;
      left = this.arithmetic(plus ? N_ADD : N_SUB, plus ? "_+_" : "_-_", left, right, pos);
    }
    return left;
  }

  private multiplication(): i32 {
    let left = this.unary();
    while (left >= 0 && (this.isOp(OP_STAR) || this.isOp(OP_SLASH) || this.isOp(OP_PERCENT))) {
      const o = this.lx.op;
      const pos = this.lx.start;
      this.lx.next();
      const right = this.unary();
      if (right < 0) return -1;
      if (o == OP_STAR) left = this.arithmetic(N_MUL, "_*_", left, right, pos);
      else if (o == OP_SLASH) left = this.arithmetic(N_DIV, "_/_", left, right, pos);
      else left = this.arithmetic(N_MOD, "_%_", left, right, pos);
    }
    return left;
  }

  private arithmetic(op: i32, fn: string, left: i32, right: i32, pos: i32): i32 {
    const ast = this.ast;
    const lt = ast.type[left], rt = ast.type[right];
    if (lt != rt || (lt != T_INT && lt != T_UINT)) {
      // CEL defines string concatenation; cost expressions have no use for it.
      return this.noOverload(pos, fn, lt, rt);
    }
    return ast.add(op, lt, left, right, -1, lt, 0, pos);
  }

  // unary := '!'+ member | '-'+ member | member
  private unary(): i32 {
    if (++this.depth > MAX_DEPTH) return this.failNode(this.lx.start, "expression recursion limit exceeded: " + MAX_DEPTH.toString());
    const node = this.unaryInner();
    this.depth--;
    return node;
  }

  private unaryInner(): i32 {
    if (this.isOp(OP_NOT)) {
      const pos = this.lx.start;
      this.lx.next();
      const operand = this.unary();
      if (operand < 0) return -1;
      const t = this.ast.type[operand];
      if (t != T_BOOL) return this.noOverload(pos, "!_", t, 0);
      return this.ast.add(N_NOT, T_BOOL, operand, -1, -1, T_BOOL, 0, pos);
    }
    if (this.isOp(OP_MINUS)) {
      const pos = this.lx.start;
      this.lx.next();
      // A '-' directly before an int literal makes a negative literal, so -9223372036854775808 is valid.
      if (this.lx.kind == TK_INT) {
        const value = this.lx.intValue;
        const overflow = this.lx.overflow;
        const litPos = this.lx.start;
        this.lx.next();
        if (!this.isOp(OP_DOT)) {
          if (overflow) return this.failNode(litPos, "integer literal out of range");
          return this.ast.add(N_CONST, T_INT, -1, -1, -1, 0, <u64>(-<i64>value), pos);
        }
        return this.failNode(this.lx.start, "field selection and member functions are not supported in cost expressions");
      }
      const operand = this.unary();
      if (operand < 0) return -1;
      const t = this.ast.type[operand];
      if (t != T_INT) return this.noOverload(pos, "-_", t, 0);
      return this.ast.add(N_NEG, T_INT, operand, -1, -1, T_INT, 0, pos);
    }
    const node = this.primary();
    if (node < 0) return -1;
    if (this.isOp(OP_DOT) || this.isOp(OP_LBRACKET)) {
      return this.failNode(this.lx.start, "field selection, indexing and member functions are not supported in cost expressions");
    }
    return node;
  }

  private primary(): i32 {
    const lx = this.lx;
    const ast = this.ast;
    const pos = lx.start;
    switch (lx.kind) {
      case TK_INT: {
        if (lx.overflow || lx.intValue > <u64>i64.MAX_VALUE) return this.failNode(pos, "integer literal out of range");
        const v = lx.intValue;
        lx.next();
        return ast.add(N_CONST, T_INT, -1, -1, -1, 0, v, pos);
      }
      case TK_UINT: {
        if (lx.overflow) return this.failNode(pos, "unsigned integer literal out of range");
        const v = lx.intValue;
        lx.next();
        return ast.add(N_CONST, T_UINT, -1, -1, -1, 0, v, pos);
      }
      case TK_STRING: {
        ast.strings.push(lx.text);
        lx.next();
        return ast.add(N_STRING, T_STRING, ast.strings.length - 1, -1, -1, 0, 0, pos);
      }
      case TK_IDENT: {
        const name = lx.text;
        lx.next();
        if (this.isOp(OP_LPAREN)) return this.call(name, pos);
        return this.identifier(name, pos);
      }
      case TK_OP: {
        if (lx.op == OP_LPAREN) {
          lx.next();
          const inner = this.expr();
          if (inner < 0) return -1;
          if (!this.isOp(OP_RPAREN)) return this.expected("')'");
          lx.next();
          return inner;
        }
        if (lx.op == OP_LBRACKET || lx.op == OP_LBRACE) {
          return this.failNode(pos, "list and map literals are not supported in cost expressions");
        }
        if (lx.op == OP_DOT) return this.failNode(pos, "field selection is not supported in cost expressions");
        break;
      }
      case TK_ERROR:
        return this.failNode(pos, lx.message);
    }
    return this.expected("an operand");
  }

  private identifier(name: string, pos: i32): i32 {
    const ast = this.ast;
    if (name == "true" || name == "false") return ast.add(N_CONST, T_BOOL, -1, -1, -1, 0, name == "true" ? 1 : 0, pos);
    let slot = -1;
    if (name == "model") slot = STR_MODEL;
    else if (name == "backend") slot = STR_BACKEND;
    else if (name == "route_name") slot = STR_ROUTE_NAME;
    if (slot >= 0) return ast.add(N_STRING, T_STRING, slot, -1, -1, 0, 0, pos);
    let tokens = -1;
    if (name == "input_tokens") tokens = TOKENS_INPUT;
    else if (name == "cached_input_tokens") tokens = TOKENS_CACHED_INPUT;
    // `cached_write_input_tokens` is the name older Envoy AI Gateway releases used.
    else if (name == "cache_creation_input_tokens" || name == "cached_write_input_tokens") tokens = TOKENS_CACHE_CREATION_INPUT;
    else if (name == "output_tokens") tokens = TOKENS_OUTPUT;
    else if (name == "total_tokens") tokens = TOKENS_TOTAL;
    else if (name == "reasoning_tokens") tokens = TOKENS_REASONING;
    if (tokens >= 0) return ast.add(N_TOKENS, T_UINT, tokens, -1, -1, 0, 0, pos);
    if (name == "null") return this.failNode(pos, "null is not supported in cost expressions");
    return this.failNode(pos, "undeclared reference to '" + name + "' (variables: model, backend, route_name, " +
      "input_tokens, cached_input_tokens, cache_creation_input_tokens, output_tokens, total_tokens, reasoning_tokens)");
  }

  // Only the int() and uint() conversions exist in this subset.
  private call(name: string, pos: i32): i32 {
    const lx = this.lx;
    const ast = this.ast;
    lx.next(); // '('
    const args = new Array<i32>();
    if (!this.isOp(OP_RPAREN)) {
      while (true) {
        const arg = this.expr();
        if (arg < 0) return -1;
        args.push(arg);
        if (this.isOp(OP_COMMA)) { lx.next(); continue; }
        if (this.isOp(OP_RPAREN)) break;
        return this.expected("',' or ')'");
      }
    }
    lx.next(); // ')'
    if (name != "int" && name != "uint") {
      return this.failNode(pos, "undeclared reference to '" + name + "' (the only functions are int() and uint())");
    }
    if (args.length != 1) {
      let types = "";
      for (let i = 0; i < args.length; i++) types += (i > 0 ? ", " : "") + typeName(ast.type[args[i]]);
      return this.failNode(pos, "found no matching overload for '" + name + "' applied to '(" + types + ")'");
    }
    const t = ast.type[args[0]];
    if (t != T_INT && t != T_UINT) return this.noOverload(pos, name, t, 0);
    const toInt = name == "int";
    return ast.add(toInt ? N_TO_INT : N_TO_UINT, toInt ? T_INT : T_UINT, args[0], -1, -1, t, 0, pos);
  }
}
