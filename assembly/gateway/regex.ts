// Header-match regular expressions: the RE2 syntax subset Envoy's safe_regex accepts in practice, with
// FULL-match semantics (the whole value must match, as Envoy's RegexMatcher::match does), in linear time:
// the pattern is compiled once to a Thompson NFA program and run as a Pike VM (no backtracking).
//
// Supported: literals; escapes \a \f \t \n \r \v \xHH \x{H…} and any escaped punctuation; \Q…\E; `.`
// (not \n unless (?s)); classes [..] [^..] with ranges, escapes, \d \D \s \S \w \W and [:alpha:]-style
// POSIX classes (ASCII, as RE2); \d \s \w and their negations outside classes; * + ? {n} {n,} {n,m} (and
// their lazy forms, which cannot change a full match); alternation; groups ( ) (?: ) (?P<n> ) (?<n> );
// flags (?i) (?s) (?m) (?U) and (?flags: ) with `-` to clear; anchors ^ $ \A \z; word boundaries \b \B.
// Matching works on code points (a surrogate pair is one character, as a UTF-8 code point is to RE2).
// Not supported (rejected with an error): Unicode classes \p{..} \pN, \C, octal/backreference escapes,
// lookaround (which RE2 rejects too). (?i) folds ASCII letters and, for single characters, the simple
// upper/lower case mapping; ranges of non-ASCII letters are not folded.

const OP_CHAR: i32 = 0; // a = code point
const OP_CLASS: i32 = 1; // a = class index
const OP_ANY: i32 = 2; // any character
const OP_ANY_NOT_NL: i32 = 3; // any character but \n
const OP_SPLIT: i32 = 4; // a, b = targets (a preferred)
const OP_JMP: i32 = 5; // a = target
const OP_ASSERT: i32 = 6; // a = ASSERT_*
const OP_MATCH: i32 = 7;

const ASSERT_BEGIN_TEXT: i32 = 0;
const ASSERT_END_TEXT: i32 = 1;
const ASSERT_BEGIN_LINE: i32 = 2;
const ASSERT_END_LINE: i32 = 3;
const ASSERT_WORD: i32 = 4;
const ASSERT_NOT_WORD: i32 = 5;

const FLAG_I: i32 = 1;
const FLAG_S: i32 = 2;
const FLAG_M: i32 = 4;
const FLAG_U: i32 = 8;

const MAX_REPEAT: i32 = 1000; // RE2's limit for {n,m}
const MAX_NESTING: i32 = 100; // group depth: parsing and compiling recurse, and a wasm stack overflow traps
const MAX_PROGRAM: i32 = 20000; // instructions: bounds memory and per-character work
const MAX_RUNE: u32 = 0x10ffff;

/** A compiled pattern; `matches` tests a full match. */
export class Regex {
  private pcMark: StaticArray<i32>;
  private listA: StaticArray<i32>;
  private listB: StaticArray<i32>;
  private stack: StaticArray<i32>;
  private step: i32 = 0;

  constructor(
    readonly pattern: string,
    private ops: StaticArray<i32>,
    private argA: StaticArray<i32>,
    private argB: StaticArray<i32>,
    private classes: Array<StaticArray<u32>>,
    /** Set when the pattern is a plain literal: matching is then a string comparison. */
    private literal: string | null,
  ) {
    const n = ops.length;
    this.pcMark = new StaticArray<i32>(n);
    this.listA = new StaticArray<i32>(n);
    this.listB = new StaticArray<i32>(n);
    this.stack = new StaticArray<i32>(n * 2 + 2);
  }

  /** Whether the whole of `s` matches. */
  matches(s: string): bool {
    const lit = this.literal;
    if (lit != null) return s == lit;
    let clist = this.listA;
    let nlist = this.listB;
    const len = s.length;
    let i = 0;
    let cur = codePointAt(s, 0, len);
    let cn = this.addThread(clist, 0, 0, -1, cur);
    while (i < len) {
      if (cn == 0) return false;
      const width = cur > 0xffff ? 2 : 1;
      const next = codePointAt(s, i + width, len);
      let nn = 0;
      this.step++;
      for (let t = 0; t < cn; t++) {
        const pc = unchecked(clist[t]);
        const op = unchecked(this.ops[pc]);
        let ok = false;
        if (op == OP_CHAR) ok = unchecked(this.argA[pc]) == cur;
        else if (op == OP_CLASS) ok = classHas(unchecked(this.classes[unchecked(this.argA[pc])]), <u32>cur);
        else if (op == OP_ANY) ok = true;
        else if (op == OP_ANY_NOT_NL) ok = cur != 0x0a;
        if (ok) nn = this.addThreadTo(nlist, nn, pc + 1, cur, next);
      }
      const tmp = clist;
      clist = nlist;
      nlist = tmp;
      cn = nn;
      cur = next;
      i += width;
    }
    for (let t = 0; t < cn; t++) {
      if (unchecked(this.ops[unchecked(clist[t])]) == OP_MATCH) return true;
    }
    return false;
  }

  private addThread(list: StaticArray<i32>, n: i32, pc: i32, prev: i32, next: i32): i32 {
    this.step++;
    return this.addThreadTo(list, n, pc, prev, next);
  }

  /** Adds pc's epsilon closure at a position between `prev` and `next` (-1 = text edge) to list[0..n). */
  private addThreadTo(list: StaticArray<i32>, n: i32, pc0: i32, prev: i32, next: i32): i32 {
    const stack = this.stack;
    const mark = this.pcMark;
    const step = this.step;
    let sp = 0;
    unchecked((stack[sp++] = pc0));
    while (sp > 0) {
      const pc = unchecked(stack[--sp]);
      if (unchecked(mark[pc]) == step) continue;
      unchecked((mark[pc] = step));
      const op = unchecked(this.ops[pc]);
      if (op == OP_JMP) {
        unchecked((stack[sp++] = unchecked(this.argA[pc])));
      } else if (op == OP_SPLIT) {
        unchecked((stack[sp++] = unchecked(this.argB[pc])));
        unchecked((stack[sp++] = unchecked(this.argA[pc])));
      } else if (op == OP_ASSERT) {
        if (assertHolds(unchecked(this.argA[pc]), prev, next)) unchecked((stack[sp++] = pc + 1));
      } else {
        unchecked((list[n++] = pc));
      }
    }
    return n;
  }
}

function assertHolds(kind: i32, prev: i32, next: i32): bool {
  switch (kind) {
    case ASSERT_BEGIN_TEXT: return prev < 0;
    case ASSERT_END_TEXT: return next < 0;
    case ASSERT_BEGIN_LINE: return prev < 0 || prev == 0x0a;
    case ASSERT_END_LINE: return next < 0 || next == 0x0a;
    case ASSERT_WORD: return isWordChar(prev) != isWordChar(next);
    case ASSERT_NOT_WORD: return isWordChar(prev) == isWordChar(next);
  }
  return false;
}

function isWordChar(c: i32): bool {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c == 0x5f;
}

/** Code point at UTF-16 index i (-1 past the end); a lone surrogate stands for itself. */
function codePointAt(s: string, i: i32, len: i32): i32 {
  if (i >= len) return -1;
  const c = <i32>s.charCodeAt(i);
  if (c >= 0xd800 && c <= 0xdbff && i + 1 < len) {
    const d = <i32>s.charCodeAt(i + 1);
    if (d >= 0xdc00 && d <= 0xdfff) return 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
  }
  return c;
}

/** Sorted, non-overlapping [lo, hi] pairs. */
function classHas(ranges: StaticArray<u32>, c: u32): bool {
  let lo = 0;
  let hi = (ranges.length >> 1) - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (c < unchecked(ranges[mid << 1])) hi = mid - 1;
    else if (c > unchecked(ranges[(mid << 1) + 1])) lo = mid + 1;
    else return true;
  }
  return false;
}

/** The result of compileRegex: a Regex, or an error naming the problem. */
export class RegexResult {
  constructor(
    public regex: Regex | null,
    public error: string,
  ) {}
}

export function compileRegex(pattern: string): RegexResult {
  const parser = new Parser(pattern);
  const node = parser.parse();
  if (node == null) return new RegexResult(null, "invalid regex " + quoteForError(pattern) + ": " + parser.error);
  const lit = literalOf(node);
  const c = new Compiler();
  c.emitNode(node);
  c.emit(OP_MATCH, 0, 0);
  if (c.tooLarge) return new RegexResult(null, "invalid regex " + quoteForError(pattern) + ": pattern too large");
  const n = c.ops.length;
  const ops = new StaticArray<i32>(n);
  const a = new StaticArray<i32>(n);
  const b = new StaticArray<i32>(n);
  for (let i = 0; i < n; i++) {
    ops[i] = c.ops[i];
    a[i] = c.a[i];
    b[i] = c.b[i];
  }
  return new RegexResult(new Regex(pattern, ops, a, b, c.classes, lit), "");
}

/** The pattern for an error message, shortened so that a huge pattern does not flood the log. */
function quoteForError(s: string): string {
  return "`" + (s.length > 80 ? s.substring(0, 80) + "…" : s) + "`";
}

// --- syntax tree ---

const N_EMPTY: i32 = 0;
const N_CHAR: i32 = 1; // lo = code point
const N_CLASS: i32 = 2; // ranges
const N_ANY: i32 = 3; // lo = 1 when it matches \n
const N_CONCAT: i32 = 4;
const N_ALT: i32 = 5;
const N_REPEAT: i32 = 6; // lo = min, hi = max (-1 = unbounded)
const N_ASSERT: i32 = 7; // lo = ASSERT_*

class Node {
  kind: i32;
  lo: i32 = 0;
  hi: i32 = 0;
  children: Array<Node> = [];
  ranges: Array<u32> = [];

  constructor(kind: i32) {
    this.kind = kind;
  }
}

/** The pattern's text when it is a plain case-sensitive literal (so matching can compare strings). */
function literalOf(node: Node): string | null {
  if (node.kind == N_EMPTY) return "";
  if (node.kind == N_CHAR) return String.fromCodePoint(node.lo);
  if (node.kind != N_CONCAT) return null;
  let s = "";
  for (let i = 0; i < node.children.length; i++) {
    const c = node.children[i];
    if (c.kind != N_CHAR) return null;
    s += String.fromCodePoint(c.lo);
  }
  return s;
}

class Parser {
  pos: i32 = 0;
  flags: i32 = 0;
  depth: i32 = 0;
  error: string = "";

  constructor(readonly src: string) {}

  parse(): Node | null {
    const n = this.parseAlt();
    if (n == null) return null;
    if (this.pos < this.src.length) {
      // Only an unmatched ')' stops parseAlt before the end.
      this.error = "unexpected ): " + quoteForError(this.src);
      return null;
    }
    return n;
  }

  private get more(): bool {
    return this.pos < this.src.length;
  }

  private peek(): i32 {
    return codePointAt(this.src, this.pos, this.src.length);
  }

  private next(): i32 {
    const c = this.peek();
    this.pos += c > 0xffff ? 2 : 1;
    return c;
  }

  private fail(msg: string): Node | null {
    if (this.error.length == 0) this.error = msg;
    return null;
  }

  private parseAlt(): Node | null {
    const branches = new Array<Node>();
    while (true) {
      const b = this.parseConcat();
      if (b == null) return null;
      branches.push(b);
      if (this.more && this.peek() == 0x7c) {
        this.pos++;
        continue;
      }
      break;
    }
    if (branches.length == 1) return branches[0];
    const alt = new Node(N_ALT);
    alt.children = branches;
    return alt;
  }

  private parseConcat(): Node | null {
    const items = new Array<Node>();
    while (this.more) {
      const c = this.peek();
      if (c == 0x7c || c == 0x29) break; // | )
      const start = this.pos;
      const atom = this.parseAtom();
      if (atom == null) {
        if (this.error.length > 0) return null;
        continue; // a flag group such as (?i): nothing to add
      }
      const q = this.parseQuantifiers(atom, start);
      if (q == null) return null;
      items.push(q);
    }
    if (items.length == 0) return new Node(N_EMPTY);
    if (items.length == 1) return items[0];
    const cat = new Node(N_CONCAT);
    cat.children = items;
    return cat;
  }

  private parseQuantifiers(atom: Node, atomStart: i32): Node | null {
    let node = atom;
    let quantified = false;
    while (this.more) {
      const c = this.peek();
      const qStart = this.pos;
      let min = 0;
      let max = -1;
      if (c == 0x2a) { // *
        this.pos++;
      } else if (c == 0x2b) { // +
        this.pos++;
        min = 1;
      } else if (c == 0x3f) { // ?
        this.pos++;
        max = 1;
      } else if (c == 0x7b) { // {
        const r = this.tryRepeat();
        if (r == null) break; // not a repeat: a literal '{', parsed as the next atom
        min = r[0];
        max = r[1];
        if (min > MAX_REPEAT || max > MAX_REPEAT || (max >= 0 && max < min)) {
          return this.fail("bad repetition operator: " + this.src.substring(qStart, this.pos));
        }
      } else {
        break;
      }
      if (this.more && this.peek() == 0x3f) this.pos++; // lazy: same full-match result
      if (quantified) return this.fail("bad repetition operator: " + this.src.substring(atomStart, this.pos));
      const rep = new Node(N_REPEAT);
      rep.lo = min;
      rep.hi = max;
      rep.children = [node];
      node = rep;
      quantified = true;
    }
    return node;
  }

  /** At '{': parses {n}, {n,} or {n,m}; returns [min, max] and advances, or null (position unchanged). */
  private tryRepeat(): StaticArray<i32> | null {
    const save = this.pos;
    this.pos++;
    const min = this.readInt();
    if (min < 0) {
      this.pos = save;
      return null;
    }
    let max = min;
    if (this.more && this.peek() == 0x2c) {
      this.pos++;
      if (this.more && this.peek() == 0x7d) max = -1;
      else {
        max = this.readInt();
        if (max < 0) {
          this.pos = save;
          return null;
        }
      }
    }
    if (!this.more || this.peek() != 0x7d) {
      this.pos = save;
      return null;
    }
    this.pos++;
    const r = new StaticArray<i32>(2);
    r[0] = min;
    r[1] = max;
    return r;
  }

  private readInt(): i32 {
    let v = 0;
    let digits = 0;
    while (this.more) {
      const c = this.peek();
      if (c < 0x30 || c > 0x39) break;
      this.pos++;
      if (v <= 100000) v = v * 10 + (c - 0x30);
      digits++;
    }
    return digits == 0 ? -1 : v;
  }

  /** One atom; null with no error for a flag-only group. */
  private parseAtom(): Node | null {
    const start = this.pos;
    const c = this.next();
    switch (c) {
      case 0x28: return this.parseGroup(); // (
      case 0x5b: return this.parseClass(); // [
      case 0x2e: { // .
        const n = new Node(N_ANY);
        n.lo = (this.flags & FLAG_S) != 0 ? 1 : 0;
        return n;
      }
      case 0x5e: return assertNode((this.flags & FLAG_M) != 0 ? ASSERT_BEGIN_LINE : ASSERT_BEGIN_TEXT); // ^
      case 0x24: return assertNode((this.flags & FLAG_M) != 0 ? ASSERT_END_LINE : ASSERT_END_TEXT); // $
      case 0x5c: return this.parseEscape(false); // backslash
      case 0x2a: case 0x2b: case 0x3f:
        return this.fail("missing argument to repetition operator: " + String.fromCharCode(c));
      case 0x7b: { // { that forms a repeat has nothing to repeat; otherwise it is a literal
        this.pos = start;
        if (this.tryRepeat() != null) {
          return this.fail("missing argument to repetition operator: " + this.src.substring(start, this.pos));
        }
        this.pos = start + 1;
        return this.charNode(c);
      }
    }
    return this.charNode(c);
  }

  private charNode(c: i32): Node {
    if ((this.flags & FLAG_I) != 0) {
      const variants = caseVariants(c);
      if (variants.length > 1) {
        const n = new Node(N_CLASS);
        for (let i = 0; i < variants.length; i++) addRange(n.ranges, variants[i], variants[i]);
        n.ranges = normalizeRanges(n.ranges);
        return n;
      }
    }
    const n = new Node(N_CHAR);
    n.lo = c;
    return n;
  }

  private parseGroup(): Node | null {
    const savedFlags = this.flags;
    if (this.more && this.peek() == 0x3f) { // (?
      this.pos++;
      if (!this.more) return this.fail("missing closing ): " + quoteForError(this.src));
      const c = this.peek();
      if (c == 0x50 || c == 0x3c) { // (?P<name> or (?<name>
        if (c == 0x50) this.pos++;
        if (!this.more || this.peek() != 0x3c) return this.fail("invalid named capture");
        this.pos++;
        if (this.more && (this.peek() == 0x3d || this.peek() == 0x21)) return this.fail("lookbehind is not supported");
        const nameStart = this.pos;
        while (this.more && this.peek() != 0x3e) {
          const d = this.peek();
          if (!isWordChar(d)) return this.fail("invalid named capture");
          this.pos++;
        }
        if (!this.more || this.pos == nameStart) return this.fail("invalid named capture");
        this.pos++;
      } else if (c == 0x3d || c == 0x21) {
        return this.fail("lookahead is not supported");
      } else {
        // Flags: (?flags) or (?flags:re)
        let on = true;
        let flags = this.flags;
        let sawFlag = false;
        while (true) {
          if (!this.more) return this.fail("missing closing ): " + quoteForError(this.src));
          const f = this.next();
          if (f == 0x3a || f == 0x29) { // : )
            if (!sawFlag && f == 0x29) return this.fail("missing flags in (?)");
            if (!on && !sawFlag) return this.fail("invalid flags");
            if (f == 0x29) {
              this.flags = flags; // applies to the rest of the enclosing group
              return null;
            }
            this.flags = flags;
            break;
          }
          let bit = 0;
          if (f == 0x69) bit = FLAG_I;
          else if (f == 0x73) bit = FLAG_S;
          else if (f == 0x6d) bit = FLAG_M;
          else if (f == 0x55) bit = FLAG_U;
          else if (f == 0x2d && on) {
            on = false;
            sawFlag = false;
            continue;
          } else return this.fail("invalid or unsupported flag in group: " + String.fromCodePoint(f));
          flags = on ? flags | bit : flags & ~bit;
          sawFlag = true;
        }
      }
    }
    this.depth++;
    if (this.depth > MAX_NESTING) return this.fail("groups nested deeper than " + MAX_NESTING.toString() + " levels");
    const inner = this.parseAlt();
    this.depth--;
    if (inner == null) return null;
    if (!this.more || this.peek() != 0x29) return this.fail("missing closing ): " + quoteForError(this.src));
    this.pos++;
    this.flags = savedFlags;
    return inner;
  }

  /** After a backslash. `inClass` limits it to what may appear in a class. */
  private parseEscape(inClass: bool): Node | null {
    if (!this.more) return this.fail("trailing \\");
    const c = this.next();
    switch (c) {
      case 0x61: return this.charNode(0x07); // \a
      case 0x66: return this.charNode(0x0c); // \f
      case 0x74: return this.charNode(0x09); // \t
      case 0x6e: return this.charNode(0x0a); // \n
      case 0x72: return this.charNode(0x0d); // \r
      case 0x76: return this.charNode(0x0b); // \v
      case 0x78: { // \xHH or \x{H...}
        const v = this.parseHexEscape();
        if (v < 0) return this.fail("invalid escape sequence: \\x");
        return this.charNode(v);
      }
      case 0x64: case 0x44: case 0x73: case 0x53: case 0x77: case 0x57: { // \d \D \s \S \w \W
        const n = new Node(N_CLASS);
        perlClass(n.ranges, c | 0x20);
        n.ranges = normalizeRanges(n.ranges);
        if (c < 0x60) n.ranges = negateRanges(n.ranges);
        return n;
      }
    }
    if (!inClass) {
      switch (c) {
        case 0x41: return assertNode(ASSERT_BEGIN_TEXT); // \A
        case 0x7a: return assertNode(ASSERT_END_TEXT); // \z
        case 0x62: return assertNode(ASSERT_WORD); // \b
        case 0x42: return assertNode(ASSERT_NOT_WORD); // \B
        case 0x51: return this.parseQuoted(); // \Q...\E
      }
    }
    if (c == 0x70 || c == 0x50) return this.fail("Unicode classes (\\p, \\P) are not supported");
    if (c < 0x80 && !isWordChar(c)) return this.charNode(c); // escaped punctuation
    return this.fail("invalid escape sequence: \\" + String.fromCodePoint(c));
  }

  private parseHexEscape(): i32 {
    if (!this.more) return -1;
    if (this.peek() == 0x7b) {
      this.pos++;
      let v = 0;
      let digits = 0;
      while (this.more && this.peek() != 0x7d) {
        const d = hexValue(this.next());
        if (d < 0) return -1;
        v = v * 16 + d;
        if (v > <i32>MAX_RUNE) return -1;
        digits++;
      }
      if (!this.more || digits == 0) return -1;
      this.pos++;
      return v;
    }
    if (this.pos + 2 > this.src.length) return -1;
    const h = hexValue(this.next());
    const l = hexValue(this.next());
    if (h < 0 || l < 0) return -1;
    return h * 16 + l;
  }

  private parseQuoted(): Node | null {
    const items = new Array<Node>();
    while (this.more) {
      if (this.peek() == 0x5c && this.pos + 1 < this.src.length && this.src.charCodeAt(this.pos + 1) == 0x45) {
        this.pos += 2;
        break;
      }
      items.push(this.charNode(this.next()));
    }
    if (items.length == 0) return new Node(N_EMPTY);
    if (items.length == 1) return items[0];
    const cat = new Node(N_CONCAT);
    cat.children = items;
    return cat;
  }

  private parseClass(): Node | null {
    const n = new Node(N_CLASS);
    const open = this.pos - 1;
    let negate = false;
    if (this.more && this.peek() == 0x5e) {
      this.pos++;
      negate = true;
    }
    let first = true;
    while (true) {
      if (!this.more) return this.fail("missing closing ]: " + quoteForError(this.src.substring(open)));
      const c = this.peek();
      if (c == 0x5d && !first) {
        this.pos++;
        break;
      }
      first = false;
      if (c == 0x5b && this.pos + 1 < this.src.length && this.src.charCodeAt(this.pos + 1) == 0x3a) {
        if (this.parsePosixClass(n.ranges)) continue;
        if (this.error.length > 0) return null;
      }
      // A single character, an escape, or a range lo-hi.
      let lo: i32;
      if (c == 0x5c) {
        this.pos++;
        const e = this.parseEscape(true);
        if (e == null) return null;
        if (e.kind == N_CLASS) {
          for (let i = 0; i < e.ranges.length; i++) n.ranges.push(e.ranges[i]);
          continue;
        }
        lo = e.lo;
      } else {
        lo = this.next();
      }
      let hi = lo;
      if (this.more && this.peek() == 0x2d && this.pos + 1 < this.src.length && this.src.charCodeAt(this.pos + 1) != 0x5d) {
        this.pos++;
        const rangeStart = this.pos;
        const d = this.peek();
        if (d == 0x5c) {
          this.pos++;
          const e = this.parseEscape(true);
          if (e == null) return null;
          if (e.kind != N_CHAR) return this.fail("invalid character class range: " + this.src.substring(rangeStart - 2, this.pos));
          hi = e.lo;
        } else {
          hi = this.next();
        }
        if (hi < lo) return this.fail("invalid character class range: " + String.fromCodePoint(lo) + "-" + String.fromCodePoint(hi));
      }
      addRange(n.ranges, lo, hi);
      if ((this.flags & FLAG_I) != 0) addFoldedRange(n.ranges, lo, hi);
    }
    n.ranges = normalizeRanges(n.ranges);
    if (negate) n.ranges = negateRanges(n.ranges);
    return n;
  }

  /** At "[:": adds a POSIX class such as [:alpha:] or [:^digit:]; false (position unchanged) if not one. */
  private parsePosixClass(out: Array<u32>): bool {
    const save = this.pos;
    const close = this.src.indexOf(":]", this.pos + 2);
    if (close < 0) return false;
    let name = this.src.substring(this.pos + 2, close);
    let negate = false;
    if (name.startsWith("^")) {
      negate = true;
      name = name.substring(1);
    }
    const r = new Array<u32>();
    if (!posixClass(r, name)) {
      this.pos = save;
      this.fail("invalid character class range: [:" + name + ":]");
      return false;
    }
    let ranges = normalizeRanges(r);
    if (negate) ranges = negateRanges(ranges);
    for (let i = 0; i < ranges.length; i++) out.push(ranges[i]);
    this.pos = close + 2;
    return true;
  }
}

function assertNode(kind: i32): Node {
  const n = new Node(N_ASSERT);
  n.lo = kind;
  return n;
}

function hexValue(c: i32): i32 {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10;
  if (c >= 0x41 && c <= 0x46) return c - 0x41 + 10;
  return -1;
}

function addRange(r: Array<u32>, lo: i32, hi: i32): void {
  r.push(<u32>lo);
  r.push(<u32>hi);
}

function perlClass(r: Array<u32>, c: i32): void {
  if (c == 0x64) addRange(r, 0x30, 0x39); // \d
  else if (c == 0x73) { // \s = [\t\n\f\r ] in RE2 (no \v)
    addRange(r, 0x09, 0x0a);
    addRange(r, 0x0c, 0x0d);
    addRange(r, 0x20, 0x20);
  } else { // \w
    addRange(r, 0x30, 0x39);
    addRange(r, 0x41, 0x5a);
    addRange(r, 0x5f, 0x5f);
    addRange(r, 0x61, 0x7a);
  }
}

function posixClass(r: Array<u32>, name: string): bool {
  if (name == "alnum") { addRange(r, 0x30, 0x39); addRange(r, 0x41, 0x5a); addRange(r, 0x61, 0x7a); }
  else if (name == "alpha") { addRange(r, 0x41, 0x5a); addRange(r, 0x61, 0x7a); }
  else if (name == "ascii") addRange(r, 0, 0x7f);
  else if (name == "blank") { addRange(r, 0x09, 0x09); addRange(r, 0x20, 0x20); }
  else if (name == "cntrl") { addRange(r, 0, 0x1f); addRange(r, 0x7f, 0x7f); }
  else if (name == "digit") addRange(r, 0x30, 0x39);
  else if (name == "graph") addRange(r, 0x21, 0x7e);
  else if (name == "lower") addRange(r, 0x61, 0x7a);
  else if (name == "print") addRange(r, 0x20, 0x7e);
  else if (name == "punct") { addRange(r, 0x21, 0x2f); addRange(r, 0x3a, 0x40); addRange(r, 0x5b, 0x60); addRange(r, 0x7b, 0x7e); }
  else if (name == "space") { addRange(r, 0x09, 0x0d); addRange(r, 0x20, 0x20); }
  else if (name == "upper") addRange(r, 0x41, 0x5a);
  else if (name == "word") perlClass(r, 0x77);
  else if (name == "xdigit") { addRange(r, 0x30, 0x39); addRange(r, 0x41, 0x46); addRange(r, 0x61, 0x66); }
  else return false;
  return true;
}

/** Adds the other ASCII case of the letters in [lo, hi]. */
function addFoldedRange(r: Array<u32>, lo: i32, hi: i32): void {
  const a = max(lo, 0x41);
  const b = min(hi, 0x5a);
  if (a <= b) addRange(r, a + 0x20, b + 0x20);
  const c = max(lo, 0x61);
  const d = min(hi, 0x7a);
  if (c <= d) addRange(r, c - 0x20, d - 0x20);
  if (lo == hi && lo > 0x7f) {
    const v = caseVariants(lo);
    for (let i = 0; i < v.length; i++) addRange(r, v[i], v[i]);
  }
}

/** c and its simple upper/lower case mappings (single code points only). */
function caseVariants(c: i32): Array<i32> {
  const out: Array<i32> = [c];
  if (c < 0x80) {
    if (c >= 0x41 && c <= 0x5a) out.push(c + 0x20);
    else if (c >= 0x61 && c <= 0x7a) out.push(c - 0x20);
    return out;
  }
  const s = String.fromCodePoint(c);
  const l = s.toLowerCase();
  const u = s.toUpperCase();
  const lc = codePointAt(l, 0, l.length);
  const uc = codePointAt(u, 0, u.length);
  if ((lc > 0xffff ? 2 : 1) == l.length && lc != c) out.push(lc);
  if ((uc > 0xffff ? 2 : 1) == u.length && uc != c && uc != lc) out.push(uc);
  return out;
}

/** Sorts and merges [lo, hi] pairs. */
function normalizeRanges(r: Array<u32>): Array<u32> {
  const n = r.length >> 1;
  // Pack each pair into one u64 (lo high, hi low) so that a numeric sort orders by lo.
  const packed = new Array<u64>(n);
  for (let i = 0; i < n; i++) packed[i] = (<u64>r[i << 1] << 32) | <u64>r[(i << 1) + 1];
  packed.sort();
  const out = new Array<u32>();
  for (let k = 0; k < n; k++) {
    const lo = <u32>(packed[k] >> 32);
    const hi = <u32>packed[k];
    const m = out.length;
    if (m > 0 && lo <= out[m - 1] + 1) {
      if (hi > out[m - 1]) out[m - 1] = hi;
    } else {
      out.push(lo);
      out.push(hi);
    }
  }
  return out;
}

/** Complement of normalized ranges within [0, MAX_RUNE]. */
function negateRanges(r: Array<u32>): Array<u32> {
  const out = new Array<u32>();
  let next: u32 = 0;
  for (let i = 0; i < r.length; i += 2) {
    if (r[i] > next) {
      out.push(next);
      out.push(r[i] - 1);
    }
    next = r[i + 1] + 1;
  }
  if (next <= MAX_RUNE) {
    out.push(next);
    out.push(MAX_RUNE);
  }
  return out;
}

class Compiler {
  ops: Array<i32> = [];
  a: Array<i32> = [];
  b: Array<i32> = [];
  classes: Array<StaticArray<u32>> = [];
  tooLarge: bool = false;

  emit(op: i32, a: i32, b: i32): i32 {
    if (this.ops.length >= MAX_PROGRAM) {
      this.tooLarge = true;
      return this.ops.length - 1;
    }
    this.ops.push(op);
    this.a.push(a);
    this.b.push(b);
    return this.ops.length - 1;
  }

  get here(): i32 {
    return this.ops.length;
  }

  emitNode(n: Node): void {
    if (this.tooLarge) return;
    switch (n.kind) {
      case N_EMPTY: return;
      case N_CHAR: this.emit(OP_CHAR, n.lo, 0); return;
      case N_CLASS: {
        const r = n.ranges;
        if (r.length == 2 && r[0] == r[1]) {
          this.emit(OP_CHAR, <i32>r[0], 0);
          return;
        }
        const s = new StaticArray<u32>(r.length);
        for (let i = 0; i < r.length; i++) s[i] = r[i];
        this.classes.push(s);
        this.emit(OP_CLASS, this.classes.length - 1, 0);
        return;
      }
      case N_ANY: this.emit(n.lo != 0 ? OP_ANY : OP_ANY_NOT_NL, 0, 0); return;
      case N_ASSERT: this.emit(OP_ASSERT, n.lo, 0); return;
      case N_CONCAT:
        for (let i = 0; i < n.children.length; i++) this.emitNode(n.children[i]);
        return;
      case N_ALT: {
        // SPLIT L1, next; L1: x1; JMP end; next: SPLIT L2, next2; ... last: xn
        const jumps = new Array<i32>();
        for (let i = 0; i < n.children.length - 1; i++) {
          const split = this.emit(OP_SPLIT, 0, 0);
          this.patchA(split, this.here);
          this.emitNode(n.children[i]);
          jumps.push(this.emit(OP_JMP, 0, 0));
          this.patchB(split, this.here);
        }
        this.emitNode(n.children[n.children.length - 1]);
        for (let i = 0; i < jumps.length; i++) this.patchA(jumps[i], this.here);
        return;
      }
      case N_REPEAT: this.emitRepeat(n.children[0], n.lo, n.hi); return;
    }
  }

  private emitRepeat(x: Node, min: i32, max: i32): void {
    for (let i = 0; i < min; i++) {
      this.emitNode(x);
      if (this.tooLarge) return;
    }
    if (max < 0) {
      // x*: L: SPLIT body, out; body; JMP L
      const l = this.emit(OP_SPLIT, 0, 0);
      this.patchA(l, this.here);
      this.emitNode(x);
      this.emit(OP_JMP, l, 0);
      this.patchB(l, this.here);
      return;
    }
    // (max - min) nested optionals: SPLIT body, out; body; SPLIT body2, out; ... all exits to the end.
    const splits = new Array<i32>();
    for (let i = min; i < max; i++) {
      const s = this.emit(OP_SPLIT, 0, 0);
      splits.push(s);
      this.patchA(s, this.here);
      this.emitNode(x);
      if (this.tooLarge) return;
    }
    for (let i = 0; i < splits.length; i++) this.patchB(splits[i], this.here);
  }

  private patchA(at: i32, target: i32): void {
    if (!this.tooLarge) this.a[at] = target;
  }

  private patchB(at: i32, target: i32): void {
    if (!this.tooLarge) this.b[at] = target;
  }
}
