// Tokens of the CEL subset used by llmRequestCosts expressions (CEL spec langdef.md "Syntax").

export const TK_EOF: i32 = 0;
export const TK_INT: i32 = 1;
export const TK_UINT: i32 = 2;
export const TK_STRING: i32 = 3;
export const TK_IDENT: i32 = 4;
export const TK_OP: i32 = 5;
export const TK_ERROR: i32 = 6;

// Operator / punctuation codes (TK_OP).
export const OP_PLUS: i32 = 1;
export const OP_MINUS: i32 = 2;
export const OP_STAR: i32 = 3;
export const OP_SLASH: i32 = 4;
export const OP_PERCENT: i32 = 5;
export const OP_EQ: i32 = 6;
export const OP_NE: i32 = 7;
export const OP_LT: i32 = 8;
export const OP_LE: i32 = 9;
export const OP_GT: i32 = 10;
export const OP_GE: i32 = 11;
export const OP_AND: i32 = 12;
export const OP_OR: i32 = 13;
export const OP_NOT: i32 = 14;
export const OP_QUESTION: i32 = 15;
export const OP_COLON: i32 = 16;
export const OP_LPAREN: i32 = 17;
export const OP_RPAREN: i32 = 18;
export const OP_COMMA: i32 = 19;
export const OP_DOT: i32 = 20;
export const OP_LBRACKET: i32 = 21;
export const OP_RBRACKET: i32 = 22;
export const OP_LBRACE: i32 = 23;
export const OP_RBRACE: i32 = 24;

/** Scans one token at a time from `src`. On a lexical error the token is TK_ERROR with `message` set. */
export class Lexer {
  src: string;
  pos: i32 = 0;
  // Current token.
  kind: i32 = TK_EOF;
  op: i32 = 0;
  start: i32 = 0;
  end: i32 = 0;
  /** TK_INT / TK_UINT magnitude (TK_INT may hold 2^63, which only a leading '-' makes valid). */
  intValue: u64 = 0;
  /** TK_INT literal exceeds 2^63 (or TK_UINT exceeds 2^64 - 1). */
  overflow: bool = false;
  /** TK_STRING value (escapes resolved) or TK_IDENT name. */
  text: string = "";
  message: string = "";

  constructor(src: string) {
    this.src = src;
  }

  next(): void {
    const s = this.src;
    const n = s.length;
    let p = this.pos;
    // Whitespace and // comments.
    while (p < n) {
      const c = s.charCodeAt(p);
      if (c == 0x20 || c == 0x09 || c == 0x0a || c == 0x0d || c == 0x0c) { p++; continue; }
      if (c == 0x2f && p + 1 < n && s.charCodeAt(p + 1) == 0x2f) {
        while (p < n && s.charCodeAt(p) != 0x0a) p++;
        continue;
      }
      break;
    }
    this.start = p;
    this.overflow = false;
    if (p >= n) { this.kind = TK_EOF; this.pos = this.end = p; return; }
    const c = s.charCodeAt(p);
    if (c >= 0x30 && c <= 0x39) { this.number(p); return; }
    if (c == 0x2e && p + 1 < n && isDigit(s.charCodeAt(p + 1))) { this.number(p); return; }
    if (isIdentStart(c)) {
      let q = p + 1;
      while (q < n && isIdentPart(s.charCodeAt(q))) q++;
      // String prefixes: r"raw", b"bytes".
      if (q < n && (s.charCodeAt(q) == 0x22 || s.charCodeAt(q) == 0x27) && q - p <= 2) {
        const c0 = c | 0x20;
        const c1 = q - p == 2 ? s.charCodeAt(p + 1) | 0x20 : 0;
        if (q - p == 1 && c0 == 0x72) { this.string(q, true); return; } // r"raw"
        if ((q - p == 1 && c0 == 0x62) || (c0 == 0x72 && c1 == 0x62) || (c0 == 0x62 && c1 == 0x72)) { // b, rb, br
          return this.fail(p, q + 1, "bytes literals are not supported in cost expressions");
        }
      }
      this.kind = TK_IDENT;
      this.text = s.substring(p, q);
      this.pos = this.end = q;
      return;
    }
    if (c == 0x22 || c == 0x27) { this.string(p, false); return; }
    const d = p + 1 < n ? s.charCodeAt(p + 1) : 0;
    let op = 0;
    let len = 1;
    switch (c) {
      case 0x2b: op = OP_PLUS; break;
      case 0x2d: op = OP_MINUS; break;
      case 0x2a: op = OP_STAR; break;
      case 0x2f: op = OP_SLASH; break;
      case 0x25: op = OP_PERCENT; break;
      case 0x3d: if (d == 0x3d) { op = OP_EQ; len = 2; } break;
      case 0x21: if (d == 0x3d) { op = OP_NE; len = 2; } else op = OP_NOT; break;
      case 0x3c: if (d == 0x3d) { op = OP_LE; len = 2; } else op = OP_LT; break;
      case 0x3e: if (d == 0x3d) { op = OP_GE; len = 2; } else op = OP_GT; break;
      case 0x26: if (d == 0x26) { op = OP_AND; len = 2; } break;
      case 0x7c: if (d == 0x7c) { op = OP_OR; len = 2; } break;
      case 0x3f: op = OP_QUESTION; break;
      case 0x3a: op = OP_COLON; break;
      case 0x28: op = OP_LPAREN; break;
      case 0x29: op = OP_RPAREN; break;
      case 0x2c: op = OP_COMMA; break;
      case 0x2e: op = OP_DOT; break;
      case 0x5b: op = OP_LBRACKET; break;
      case 0x5d: op = OP_RBRACKET; break;
      case 0x7b: op = OP_LBRACE; break;
      case 0x7d: op = OP_RBRACE; break;
    }
    if (op == 0) {
      return this.fail(p, p + 1, "Syntax error: token recognition error at: '" + s.substring(p, p + 1) + "'");
    }
    this.kind = TK_OP;
    this.op = op;
    this.pos = this.end = p + len;
  }

  private fail(start: i32, end: i32, message: string): void {
    this.kind = TK_ERROR;
    this.start = start;
    this.pos = this.end = end;
    this.message = message;
  }

  private number(p: i32): void {
    const s = this.src;
    const n = s.length;
    let q = p;
    let value: u64 = 0;
    let overflow = false;
    if (s.charCodeAt(q) == 0x30 && q + 1 < n && (s.charCodeAt(q + 1) | 0x20) == 0x78) {
      q += 2;
      const digitsStart = q;
      while (q < n && hexValue(s.charCodeAt(q)) >= 0) {
        if (value > 0x0fffffffffffffff) overflow = true;
        value = (value << 4) | <u64>hexValue(s.charCodeAt(q));
        q++;
      }
      if (q == digitsStart) return this.fail(p, q, "Syntax error: malformed hexadecimal literal");
    } else {
      while (q < n && isDigit(s.charCodeAt(q))) {
        const digit = <u64>(s.charCodeAt(q) - 0x30);
        // value * 10 + digit must fit in 64 bits.
        if (value > 1844674407370955161 || (value == 1844674407370955161 && digit > 5)) overflow = true;
        value = value * 10 + digit;
        q++;
      }
      // A fraction or exponent makes a double, which cost expressions cannot use.
      const c = q < n ? s.charCodeAt(q) : 0;
      if ((c == 0x2e && q + 1 < n && isDigit(s.charCodeAt(q + 1))) || c == 0x65 || c == 0x45 || (c == 0x2e && q == p)) {
        let r = q + 1;
        while (r < n && (isDigit(s.charCodeAt(r)) || s.charCodeAt(r) == 0x2e || s.charCodeAt(r) == 0x65 ||
          s.charCodeAt(r) == 0x45 || s.charCodeAt(r) == 0x2b || s.charCodeAt(r) == 0x2d)) r++;
        return this.fail(p, r, "floating-point literal " + s.substring(p, r) +
          " is not supported: token costs are integers and CEL does not mix double with int or uint " +
          "(scale with integers instead, e.g. cached_input_tokens / 10u)");
      }
    }
    let kind = TK_INT;
    if (q < n && (s.charCodeAt(q) | 0x20) == 0x75) { kind = TK_UINT; q++; }
    if (q < n && isIdentPart(s.charCodeAt(q))) {
      return this.fail(p, q + 1, "Syntax error: malformed number literal '" + s.substring(p, q + 1) + "'");
    }
    if (kind == TK_INT && value > 0x8000000000000000) overflow = true;
    this.kind = kind;
    this.intValue = value;
    this.overflow = overflow;
    this.pos = this.end = q;
  }

  private string(p: i32, raw: bool): void {
    const s = this.src;
    const n = s.length;
    const quote = s.charCodeAt(p);
    const triple = p + 2 < n && s.charCodeAt(p + 1) == quote && s.charCodeAt(p + 2) == quote;
    let q = p + (triple ? 3 : 1);
    let out = "";
    let chunkStart = q;
    while (true) {
      if (q >= n) return this.fail(this.start, n, "Syntax error: unterminated string literal");
      const c = s.charCodeAt(q);
      if (c == quote && (!triple || (q + 2 < n && s.charCodeAt(q + 1) == quote && s.charCodeAt(q + 2) == quote))) {
        out += s.substring(chunkStart, q);
        q += triple ? 3 : 1;
        break;
      }
      if (!triple && (c == 0x0a || c == 0x0d)) {
        return this.fail(this.start, q, "Syntax error: newline in string literal");
      }
      if (c == 0x5c && !raw) {
        out += s.substring(chunkStart, q);
        if (q + 1 >= n) return this.fail(this.start, n, "Syntax error: unterminated string literal");
        const e = s.charCodeAt(q + 1);
        let cp = -1;
        let len = 2;
        switch (e) {
          case 0x6e: cp = 0x0a; break; // \n
          case 0x72: cp = 0x0d; break; // \r
          case 0x74: cp = 0x09; break; // \t
          case 0x62: cp = 0x08; break; // \b
          case 0x66: cp = 0x0c; break; // \f
          case 0x76: cp = 0x0b; break; // \v
          case 0x61: cp = 0x07; break; // \a
          case 0x5c: case 0x22: case 0x27: case 0x60: case 0x3f: cp = e; break;
          case 0x78: case 0x58: cp = this.hexEscape(q + 2, 2); len = 4; break;
          case 0x75: cp = this.hexEscape(q + 2, 4); len = 6; break;
          case 0x55: cp = this.hexEscape(q + 2, 8); len = 10; break;
          default:
            if (e >= 0x30 && e <= 0x33) cp = this.octalEscape(q + 1);
            len = 4;
        }
        if (cp < 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
          return this.fail(q, q + 2, "Syntax error: invalid escape sequence in string literal");
        }
        out += String.fromCodePoint(cp);
        q += len;
        chunkStart = q;
        continue;
      }
      q++;
    }
    this.kind = TK_STRING;
    this.text = out;
    this.pos = this.end = q;
  }

  private hexEscape(p: i32, digits: i32): i32 {
    if (p + digits > this.src.length) return -1;
    let v = 0;
    for (let i = 0; i < digits; i++) {
      const h = hexValue(this.src.charCodeAt(p + i));
      if (h < 0) return -1;
      if (v > 0x10ffff) return -1;
      v = (v << 4) | h;
    }
    return v;
  }

  private octalEscape(p: i32): i32 {
    if (p + 3 > this.src.length) return -1;
    let v = 0;
    for (let i = 0; i < 3; i++) {
      const c = this.src.charCodeAt(p + i);
      if (c < 0x30 || c > 0x37) return -1;
      v = (v << 3) | (c - 0x30);
    }
    return v;
  }
}

function isDigit(c: i32): bool { return c >= 0x30 && c <= 0x39; }
function isIdentStart(c: i32): bool { return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || c == 0x5f; }
function isIdentPart(c: i32): bool { return isIdentStart(c) || isDigit(c); }
function hexValue(c: i32): i32 {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const l = c | 0x20;
  if (l >= 0x61 && l <= 0x66) return l - 0x61 + 10;
  return -1;
}
