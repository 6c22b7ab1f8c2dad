// Generated JSON documents for oracle tests: random values written with random (but valid) formatting —
// whitespace anywhere it is allowed, strings with every kind of escape (\uXXXX, surrogate pairs), raw
// multi-byte UTF-8, numbers in every grammatical form — and a strict oracle built on JSON.parse.

import { accepts, CHAT, parseJ } from "./request/openai-oracle.js";

/** Small deterministic PRNG (mulberry32) so failures reproduce. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class Gen {
  constructor(readonly rand: () => number) {}

  int(n: number): number {
    return Math.floor(this.rand() * n);
  }

  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)];
  }

  ws(): string {
    if (this.rand() < 0.6) return "";
    let s = "";
    const n = 1 + this.int(4);
    for (let i = 0; i < n; i++) s += this.pick([" ", "\n", "\r", "\t", "  "]);
    return s;
  }

  /** A string's contents: ASCII, escapes, 2/3/4-byte UTF-8, emoji, as raw characters or \u escapes. */
  text(maxLen = 24): string {
    const n = this.int(maxLen + 1);
    let s = "";
    for (let i = 0; i < n; i++) {
      const r = this.rand();
      if (r < 0.55) s += String.fromCharCode(0x20 + this.int(0x5f));
      else if (r < 0.62) s += this.pick(['"', "\\", "/", "\n", "\t", "\r", "\b", "\f"]);
      else if (r < 0.67) s += String.fromCharCode(this.int(0x20));
      else if (r < 0.75)
        s += String.fromCharCode(0x80 + this.int(0x780)); // 2-byte UTF-8
      else if (r < 0.85)
        s += String.fromCharCode(0x800 + this.int(0xd000 - 0x800)); // 3-byte, below surrogates
      else if (r < 0.9) s += String.fromCharCode(0xe000 + this.int(0x2000));
      else s += String.fromCodePoint(0x10000 + this.int(0x100000 - 0x10000)); // 4-byte: surrogate pair
    }
    return s;
  }

  /** A JSON string literal for `s`, escaping randomly beyond what is required. */
  quote(s: string): string {
    let out = '"';
    for (const ch of s) {
      const cp = ch.codePointAt(0)!;
      const r = this.rand();
      if (ch === '"') out += '\\"';
      else if (ch === "\\") out += "\\\\";
      else if (cp < 0x20) {
        const short: Record<string, string> = { "\n": "\\n", "\t": "\\t", "\r": "\\r", "\b": "\\b", "\f": "\\f" };
        out += short[ch] && r < 0.5 ? short[ch] : "\\u" + hex4(cp);
      } else if (ch === "/" && r < 0.5) out += "\\/";
      else if (r < 0.15) {
        // Escape any character, supplementary ones as a surrogate pair, in random hex case.
        const units = cp > 0xffff ? [ch.charCodeAt(0), ch.charCodeAt(1)] : [cp];
        for (const u of units) out += "\\u" + (r < 0.07 ? hex4(u).toUpperCase() : hex4(u));
      } else out += ch;
    }
    return out + '"';
  }

  number(): string {
    const sign = this.rand() < 0.3 ? "-" : "";
    const int = this.rand() < 0.2 ? "0" : String(1 + this.int(9)) + digits(this, this.int(12));
    const frac = this.rand() < 0.35 ? "." + digits(this, 1 + this.int(8)) : "";
    const exp = this.rand() < 0.25 ? this.pick(["e", "E"]) + this.pick(["", "+", "-"]) + digits(this, 1 + this.int(3)) : "";
    return sign + int + frac + exp;
  }

  value(depth: number): string {
    const r = this.rand();
    if (depth <= 0 || r < 0.45) {
      const s = this.rand();
      if (s < 0.4) return this.quote(this.text());
      if (s < 0.75) return this.number();
      return this.pick(["true", "false", "null"]);
    }
    if (r < 0.75) return this.object(depth - 1, []);
    const n = this.int(5);
    const items: string[] = [];
    for (let i = 0; i < n; i++) items.push(this.ws() + this.value(depth - 1) + this.ws());
    return "[" + (items.length ? items.join(",") : this.ws()) + "]";
  }

  /** An object with random members plus `extra` members (raw "key":value text) at random positions. */
  object(depth: number, extra: string[]): string {
    const members: string[] = [];
    const n = this.int(5);
    for (let i = 0; i < n; i++) members.push(this.quote(this.key()) + this.ws() + ":" + this.ws() + this.value(depth));
    for (const e of extra) members.splice(this.int(members.length + 1), 0, e);
    if (members.length === 0) return "{" + this.ws() + "}";
    return "{" + members.map((m) => this.ws() + m + this.ws()).join(",") + "}";
  }

  key(): string {
    return this.rand() < 0.3 ? this.pick(["model", "messages", "stream", "role", "content", "x"]) : this.text(8);
  }
}

function digits(g: Gen, n: number): string {
  let s = "";
  for (let i = 0; i < n; i++) s += String(g.int(10));
  return s;
}

export function hex4(n: number): string {
  return n.toString(16).padStart(4, "0");
}

/**
 * The scanner's contract expressed with JSON.parse: valid iff the bytes are well-formed UTF-8, JSON.parse
 * accepts them, no \u escape is a lone surrogate, and nesting is at most `maxDepth`. The last two are
 * checked on the text, since JSON.parse's result drops the values of duplicate keys.
 */
export function oracleValid(bytes: Uint8Array, maxDepth = 512): boolean {
  const text = Buffer.from(bytes).toString("utf8");
  if (!Buffer.from(text, "utf8").equals(Buffer.from(bytes))) return false;
  try {
    JSON.parse(text);
  } catch {
    return false;
  }
  return rawChecks(text, maxDepth);
}

/** For text JSON.parse accepted: nesting depth and surrogate escapes, tracked outside and inside strings. */
function rawChecks(text: string, maxDepth: number): boolean {
  let depth = 0;
  let inString = false;
  let pendingHigh = false; // the previous escape was a high surrogate
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (!inString) {
      if (c === '"') inString = true;
      else if (c === "{" || c === "[") {
        if (++depth > maxDepth) return false;
      } else if (c === "}" || c === "]") depth--;
      continue;
    }
    if (c === "\\") {
      const e = text[i + 1];
      if (e === "u") {
        const u = parseInt(text.slice(i + 2, i + 6), 16);
        const high = u >= 0xd800 && u <= 0xdbff;
        const low = u >= 0xdc00 && u <= 0xdfff;
        if (pendingHigh !== low) return false;
        pendingHigh = high;
        i += 5;
      } else {
        if (pendingHigh) return false;
        i += 1;
      }
      continue;
    }
    if (pendingHigh) return false;
    if (c === '"') inString = false;
  }
  return true;
}

/** The filter's contract for chat completion bodies, from the parsed document: ok with the model, or a 400. */
export function expectedChat(bodyBytes: Uint8Array): { ok: boolean; model?: string } {
  if (!oracleValid(bodyBytes)) return { ok: false };
  const v = JSON.parse(Buffer.from(bodyBytes).toString("utf8"));
  if (v === null || typeof v !== "object" || Array.isArray(v)) return { ok: false };
  if (typeof v.model !== "string" || v.model === "" || /[\u0000-\u001f\u007f]/.test(v.model)) return { ok: false };
  if (!Array.isArray(v.messages) || v.messages.length === 0) return { ok: false };
  if (v.stream !== undefined && v.stream !== null && typeof v.stream !== "boolean") return { ok: false };
  const so = v.stream_options;
  if (so !== undefined && so !== null && (typeof so !== "object" || Array.isArray(so))) return { ok: false };
  if (so && so.include_usage !== undefined && so.include_usage !== null && typeof so.include_usage !== "boolean") return { ok: false };
  // Envoy AI Gateway's schema (messages, roles, every occurrence of a field), by openai-oracle.ts.
  if (!accepts(parseJ(Buffer.from(bodyBytes).toString("utf8")), CHAT)) return { ok: false };
  return { ok: true, model: v.model };
}

/** Mostly valid model names (any text but control characters), sometimes empty or with control characters. */
function modelName(g: Gen): string {
  const t = g.text(12);
  return g.rand() < 0.85 ? t.replace(/[\u0000-\u001f\u007f]/g, "") || "m" : t;
}

/** A chat message: mostly a valid role and content, sometimes not. */
function message(g: Gen): string {
  const role = g.rand() < 0.9 ? g.pick(["user", "system", "assistant", "developer"]) : g.text(6);
  const content = g.rand() < 0.9 ? g.quote(g.text()) : g.value(1);
  return g.quote("role") + ":" + g.ws() + g.quote(role) + "," + g.quote("content") + ":" + g.ws() + content;
}

/** A chat completion request, mostly valid, with duplicate and nested `model` keys and odd stream options. */
export function chatRequest(g: Gen): string {
  const extra = [
    g.quote("model") + g.ws() + ":" + g.ws() + (g.rand() < 0.9 ? g.quote(modelName(g)) : g.value(1)),
    g.quote("messages") + ":" + g.ws() + (g.rand() < 0.9 ? "[" + (g.rand() < 0.6 ? "{" + message(g) + "}" : g.object(2, [message(g)])) + "]" : g.value(1)),
  ];
  if (g.rand() < 0.3) extra.push('"stream":' + g.pick(["true", "false", "null", '"true"', "1"]));
  if (g.rand() < 0.3) extra.push('"stream_options":' + g.pick(['{"include_usage":true}', "{}", "null", "[]", '{"include_usage":1}']));
  if (g.rand() < 0.2) extra.push('"model":' + g.quote(modelName(g))); // duplicate: the last one counts
  if (g.rand() < 0.2) extra.push('"meta":{"model":"nested"}');
  return g.ws() + g.object(3, extra) + g.ws();
}

const MUTATION_BYTES = [...'{}[]:,"\\ 0123456789.eE+-tfnulrsmodel'].map((c) => c.charCodeAt(0)).concat([0x00, 0x0d, 0x80, 0xc3, 0xff]);

/** One byte inserted, deleted or replaced at a random place. */
export function mutate(g: Gen, doc: Uint8Array): Uint8Array {
  const b = [...doc];
  const at = g.int(b.length + 1);
  const op = g.int(3);
  if (op === 0) b.splice(at, 0, g.pick(MUTATION_BYTES));
  else if (op === 1) b.splice(at, 1);
  else b[Math.min(at, b.length - 1)] = g.pick(MUTATION_BYTES);
  return new Uint8Array(b);
}
