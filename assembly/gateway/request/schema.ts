// Type checks of request fields against a schema table, made while the body is scanned (body.ts calls
// checkValue for each top-level member its endpoint's table names): no second parse, no allocation unless
// a check fails. The tables live in openai-schema.ts.
//
// The rules are those of the decoder Envoy AI Gateway v1.1.0 runs over the body (internal/json/json.go:
// bytedance/sonic with CaseSensitive, following encoding/json's type rules; internal/apischema/openai):
// - keys match exactly (case-sensitively); unknown keys are skipped (they pass through unchanged);
// - JSON null is accepted wherever the Go type is a plain or pointer field (it decodes to the zero value);
//   types with their own UnmarshalJSON see the null and may reject it (`nullOk` says which);
// - integer fields (Go int/int64) take only integer literals in range: strconv.ParseInt rejects 1.5, 1e2
//   and 1.0 alike; float fields reject numbers outside float64 (or float32) range, as strconv.ParseFloat;
// - every occurrence of a duplicate key is decoded, so each one must have the right type;
// - a union dispatched on a discriminator (message `role`, content part `type`) reads it with gjson,
//   whose lookup takes the FIRST occurrence; fields that the chosen variant does not declare are unknown to
//   it and pass. Since the discriminator may come after the other fields, a tagged object checks each
//   member against every variant that declares it and decides at its closing brace.
//
// On a failed check, functions return 0 with `schemaFailed` set and the error in `schemaMessage` at
// `schemaPath` (relative, built by prefixing as the recursion unwinds). A return of 0 without
// `schemaFailed` is a JSON syntax error (scan.ts's jsonError). Recursion follows the schema's depth
// (bounded by the tables), never the document's: values the schema does not describe are skipped.

import {
  jsonFail, jsonKindAt, jsonKindName, jsonLastStringEscaped, skipJsonNumber, skipJsonString, skipJsonValue,
  skipJsonWs, JSON_EXPECTED_COLON, JSON_EXPECTED_COMMA_OR_END, JSON_EXPECTED_KEY, JSON_UNEXPECTED_END,
  KIND_ARRAY, KIND_FALSE, KIND_INVALID, KIND_NULL, KIND_NUMBER, KIND_OBJECT, KIND_STRING, KIND_TRUE,
} from "../json/scan";
import { jsonNumberOk, jsonNumberToF64, jsonNumberToI64, jsonStringEquals, jsonStringValue } from "../json/decode";

export const S_ANY: i32 = 0;
export const S_STRING: i32 = 1;
export const S_BOOL: i32 = 2;
/** Go int / int64. */
export const S_INT: i32 = 3;
export const S_F64: i32 = 4;
export const S_F32: i32 = 5;
/** An object with the members of `members`; others skipped. */
export const S_OBJECT: i32 = 6;
/** An array of `elem`. */
export const S_ARRAY: i32 = 7;
/** An object whose every member is an `elem` (Go map[string]T). */
export const S_MAP: i32 = 8;
/** A string, or what `elem` describes (tool_choice, conversation). */
export const S_STRING_OR: i32 = 9;
/** A string or an array of strings. */
export const S_STRINGS: i32 = 10;
/** An embeddings input item (see checkEmbeddingItem). */
export const S_EMBEDDING_ITEM: i32 = 15;
/** An embeddings input item's `content` (see checkTexts). */
const S_TEXTS: i32 = 16;
/** Completions `prompt`: string, []string, []int64 or [][]int64, told apart by the first element. */
export const S_PROMPT: i32 = 11;
/** Embeddings `input`: as S_PROMPT, plus an object with non-empty `content` or an array of them. */
export const S_EMBEDDING_INPUT: i32 = 12;
/** An object dispatched on `tag` to one of `variants`; `members` merges theirs. */
export const S_TAGGED: i32 = 13;
/** Chat message `content`: checked against every role at once, see checkContent. */
export const S_CONTENT: i32 = 14;

export class Member {
  readonly len: i32;
  readonly bytes: ArrayBuffer;
  /** Where `bytes` (the name in UTF-8) start. */
  readonly at: usize;
  constructor(
    public name: string,
    public schema: Schema,
    /** For tagged objects: the variants (bit i = variants[i]) that declare the member. */
    public variants: u32 = 0xffffffff,
  ) {
    this.bytes = String.UTF8.encode(name);
    this.len = this.bytes.byteLength;
    this.at = changetype<usize>(this.bytes);
  }
}

export class Schema {
  kind: i32 = S_ANY;
  /** Whether JSON null is accepted (false for the union types whose UnmarshalJSON rejects it). */
  nullOk: bool = true;
  members: Array<Member> | null = null;
  /** `members` in an open-addressing table hashed on key length and end bytes (see keySlot). */
  slots: StaticArray<Member | null> = new StaticArray<Member | null>(0);
  slotMask: u32 = 0;
  elem: Schema | null = null;
  /** S_TAGGED: the discriminator's key and the values naming variants ("" = chosen by no tag, see parts). */
  tag: string = "";
  tagBytes: ArrayBuffer = new ArrayBuffer(0);
  /** Where `tagBytes` start, and their length. */
  tagAt: usize = 0;
  tagLen: i32 = 0;
  /** S_TAGGED: whether the tag's own member, if declared, takes any string (then reading the tag checks it). */
  tagIsString: bool = true;
  variants: Array<string> | null = null;
  /** S_TAGGED: `variants` in UTF-8, and per variant the address and length of its bytes (pairs). */
  variantBytes: StaticArray<ArrayBuffer> = new StaticArray<ArrayBuffer>(0);
  variantSpans: StaticArray<usize> = new StaticArray<usize>(0);
  variantCount: i32 = 0;
  /** S_TAGGED: the variants (bits) a tag value names. */
  taggedVariants: u32 = 0;
  /** S_TAGGED: the variant an object without the tag is checked as (-1: none, the tag is required). */
  missingVariant: i32 = -1;
  /** S_TAGGED: a value that is not an object, or names no variant, passes unchecked (kept raw upstream). */
  openTags: bool = false;
  /** S_CONTENT: the part schema (tagged), and per part variant the message variants it serves. */
  partRoles: StaticArray<u32> | null = null;
  /** S_CONTENT: message variants that accept null, and a single part object, as content. */
  nullRoles: u32 = 0;
  objectRoles: u32 = 0;
  /** S_CONTENT: the message variants of all roles. */
  allRoles: u32 = 0;
}

// Builders for the tables.
export function scalar(kind: i32): Schema {
  const s = new Schema();
  s.kind = kind;
  return s;
}
export function object(members: Array<Member>): Schema {
  const s = scalar(S_OBJECT);
  setMembers(s, members);
  return s;
}
function setMembers(s: Schema, members: Array<Member>): void {
  s.members = members;
  let size = 16;
  while (size < members.length * 4) size <<= 1;
  const slots = new StaticArray<Member | null>(size);
  const mask = <u32>size - 1;
  for (let i = 0; i < members.length; i++) {
    const m = members[i];
    let h = keySlot(m.at, <usize>m.len, mask);
    while (slots[h] != null) h = (h + 1) & mask;
    slots[h] = m;
  }
  s.slots = slots;
  s.slotMask = mask;
}

/** A key's first slot: its length and first and last bytes mixed (the name at p, n bytes). */
// @ts-ignore: decorator
@inline
function keySlot(p: usize, n: usize, mask: u32): u32 {
  if (n == 0) return 0;
  return (<u32>n * 0x9e3779b1 ^ <u32>load<u8>(p) * 0x85ebca6b ^ <u32>load<u8>(p + n - 1) * 0xc2b2ae35) >>> 16 & mask;
}

/** Whether n bytes at a and b are equal (8 at a time, then 4, 2, 1: keys are short). */
// @ts-ignore: decorator
@inline
function bytesEqual(a: usize, b: usize, n: usize): bool {
  while (n >= 8) {
    if (load<u64>(a) != load<u64>(b)) return false;
    a += 8;
    b += 8;
    n -= 8;
  }
  if (n >= 4) {
    if (load<u32>(a) != load<u32>(b)) return false;
    a += 4;
    b += 4;
    n -= 4;
  }
  if (n >= 2) {
    if (load<u16>(a) != load<u16>(b)) return false;
    a += 2;
    b += 2;
    n -= 2;
  }
  return n == 0 || load<u8>(a) == load<u8>(b);
}

// Field reads on schema and member addresses. The hot path (checkValue and what it calls for strings,
// numbers, booleans, objects, arrays and messages) holds no managed reference: with the incremental
// runtime, a function that does pays for a shadow-stack frame on every call, and one of more than four
// slots is zeroed with memory.fill, which V8 runs as a call out of the wasm code.
// @ts-ignore: decorator
@inline function kindOf(sp: usize): i32 {
  return load<i32>(sp, offsetof<Schema>("kind"));
}
// @ts-ignore: decorator
@inline function elemOf(sp: usize): usize {
  return load<usize>(sp, offsetof<Schema>("elem"));
}
// @ts-ignore: decorator
@inline export function schemaOf(mp: usize): usize {
  return load<usize>(mp, offsetof<Member>("schema"));
}
/** A schema of `kind` over `elem` (S_ARRAY, S_MAP, S_STRING_OR, S_CONTENT). */
export function over(kind: i32, elem: Schema): Schema {
  const s = scalar(kind);
  s.elem = elem;
  return s;
}
export function arrayOf(elem: Schema): Schema {
  return over(S_ARRAY, elem);
}
export function mapOf(elem: Schema): Schema {
  return over(S_MAP, elem);
}
export function stringOr(alt: Schema): Schema {
  return over(S_STRING_OR, alt);
}
export function tagged(tag: string, variants: Array<string>, members: Array<Member>, nullOk: bool): Schema {
  const s = scalar(S_TAGGED);
  s.tag = tag;
  s.tagBytes = String.UTF8.encode(tag);
  s.tagAt = changetype<usize>(s.tagBytes);
  s.tagLen = s.tagBytes.byteLength;
  s.variants = variants;
  const variantBytes = new StaticArray<ArrayBuffer>(variants.length);
  const variantSpans = new StaticArray<usize>(variants.length * 2);
  for (let i = 0; i < variants.length; i++) {
    variantBytes[i] = String.UTF8.encode(variants[i]);
    variantSpans[2 * i] = changetype<usize>(variantBytes[i]);
    variantSpans[2 * i + 1] = <usize>variantBytes[i].byteLength;
    if (variants[i].length != 0) s.taggedVariants |= <u32>1 << i;
  }
  s.variantBytes = variantBytes;
  s.variantSpans = variantSpans;
  s.variantCount = variants.length;
  for (let i = 0; i < members.length; i++) {
    if (members[i].name == tag && members[i].schema.kind != S_STRING) s.tagIsString = false;
  }
  setMembers(s, members);
  s.nullOk = nullOk;
  return s;
}
export function nonNull(s: Schema): Schema {
  s.nullOk = false;
  return s;
}

export let schemaFailed = false;
export let schemaMessage = "";
export let schemaPath = "";

export function clearSchemaError(): void {
  schemaFailed = false;
}

function fail(message: string): usize {
  schemaFailed = true;
  schemaMessage = message;
  schemaPath = "";
  return 0;
}

/** On the way up from a failure: `segment` ("name" or "[3]") goes in front of the path. */
export function prefixPath(segment: string): void {
  const p = schemaPath;
  schemaPath = p.length == 0 || p.charCodeAt(0) == 0x5b ? segment + p : segment + "." + p;
}

function failKind(expected: string, kind: i32): usize {
  return fail("must be " + expected + ", got " + articled(kind));
}

export function articled(kind: i32): string {
  if (kind == KIND_NULL) return "null";
  return (kind == KIND_ARRAY || kind == KIND_OBJECT ? "an " : "a ") + jsonKindName(kind);
}

/** The member (its address, 0 = none) of the object or tagged schema at sp named by the key token [ks, ke) (quotes included). */
export function memberAt(sp: usize, ks: usize, ke: usize, escaped: bool): usize {
  if (escaped) return memberEscaped(sp, ks, ke);
  const k = ks + 1;
  const n = ke - ks - 2;
  const slots = load<usize>(sp, offsetof<Schema>("slots"));
  const mask = load<u32>(sp, offsetof<Schema>("slotMask"));
  let h = keySlot(k, n, mask);
  while (true) {
    const mp = load<usize>(slots + (<usize>h << alignof<usize>()));
    if (mp == 0) return 0;
    if (<usize>load<i32>(mp, offsetof<Member>("len")) == n && bytesEqual(k, load<usize>(mp, offsetof<Member>("at")), n)) return mp;
    h = (h + 1) & mask;
  }
  return 0; // unreachable
}

/** A member's name in front of the failure path (on the error path only). */
export function prefixMemberName(mp: usize): void {
  prefixPath(changetype<Member>(mp).name);
}

function memberEscaped(sp: usize, ks: usize, ke: usize): usize {
  const members = changetype<Schema>(sp).members!;
  for (let i = 0, c = members.length; i < c; i++) {
    const m = unchecked(members[i]);
    if (jsonStringEquals(ks, ke, true, m.name)) return changetype<usize>(m);
  }
  return 0;
}

// Iteration over a container's items: after an item, `next` moves past ',' (returning the next item's
// position) or past the closing byte (returning its position + 1 with `closed` set).
let closed = false;

function next(p: usize, end: usize, close: u32): usize {
  p = skipJsonWs(p, end);
  if (p >= end) return jsonFail(JSON_UNEXPECTED_END, end);
  const c = <u32>load<u8>(p);
  if (c == 0x2c) {
    closed = false;
    return skipJsonWs(p + 1, end);
  }
  if (c != close) return jsonFail(JSON_EXPECTED_COMMA_OR_END, p);
  closed = true;
  return p + 1;
}

/** p at '{' or '['; returns the first item's position, or the position after an empty container (`closed`). */
function open(p: usize, end: usize, close: u32): usize {
  p = skipJsonWs(p + 1, end);
  if (p >= end) return jsonFail(JSON_UNEXPECTED_END, end);
  closed = <u32>load<u8>(p) == close;
  return closed ? p + 1 : p;
}

/** p at a key: skips it and the colon; the key token is [keyStart, keyEnd). */
let keyStart: usize = 0;
let keyEnd: usize = 0;
let keyEscaped = false;

function key(p: usize, end: usize): usize {
  if (load<u8>(p) != 0x22) return jsonFail(JSON_EXPECTED_KEY, p);
  keyStart = p;
  p = skipJsonString(p, end);
  if (p == 0) return 0;
  keyEnd = p;
  keyEscaped = jsonLastStringEscaped();
  p = skipJsonWs(p, end);
  if (p >= end) return jsonFail(JSON_UNEXPECTED_END, end);
  if (load<u8>(p) != 0x3a) return jsonFail(JSON_EXPECTED_COLON, p);
  return skipJsonWs(p + 1, end);
}

/**
 * Checks the value at p (no leading whitespace) against the schema at sp; `depth` containers are open
 * around it. Returns the position after the value, or 0 (see the header).
 */
export function checkValue(sp: usize, p: usize, end: usize, depth: i32): usize {
  const kind = jsonKindAt(p, end);
  const sk = kindOf(sp);
  if (kind == KIND_INVALID) return skipJsonValue(p, end, depth); // a syntax error: the scanner's message
  if (kind == KIND_NULL && sk != S_CONTENT && sk != S_TEXTS) {
    if (load<bool>(sp, offsetof<Schema>("nullOk")) == false) return fail("must not be null");
    return skipJsonValue(p, end, depth);
  }
  switch (sk) {
    case S_ANY:
      return skipJsonValue(p, end, depth);
    case S_STRING:
      if (kind != KIND_STRING) return failKind("a string", kind);
      return skipJsonString(p, end);
    case S_BOOL:
      if (kind != KIND_TRUE && kind != KIND_FALSE) return failKind("a boolean", kind);
      return skipJsonValue(p, end, depth);
    case S_INT:
      if (kind != KIND_NUMBER) return failKind("an integer", kind);
      return checkInteger(p, end);
    case S_F64:
    case S_F32:
      if (kind != KIND_NUMBER) return failKind("a number", kind);
      return checkFloat(sk == S_F32, p, end);
    case S_OBJECT:
    case S_MAP:
      if (kind != KIND_OBJECT) return failKind("an object", kind);
      return checkObject(sp, p, end, depth);
    case S_ARRAY:
      if (kind != KIND_ARRAY) return failKind("an array", kind);
      return checkArray(elemOf(sp), p, end, depth);
    case S_STRING_OR: {
      if (kind == KIND_STRING) return skipJsonString(p, end);
      const alt = elemOf(sp);
      if (kindOf(alt) == S_ARRAY && kind != KIND_ARRAY) return failKind("a string or an array", kind);
      if (kindOf(alt) == S_OBJECT && kind != KIND_OBJECT) return failKind("a string or an object", kind);
      return checkValue(alt, p, end, depth);
    }
    case S_STRINGS:
      if (kind == KIND_STRING) return skipJsonString(p, end);
      if (kind != KIND_ARRAY) return failKind("a string or an array of strings", kind);
      return checkArray(STRING_AT, p, end, depth);
    case S_PROMPT:
    case S_EMBEDDING_INPUT:
      return checkNestedUnion(sk == S_EMBEDDING_INPUT, p, end, depth);
    case S_TAGGED:
      if (kind != KIND_OBJECT) return load<bool>(sp, offsetof<Schema>("openTags")) ? skipJsonValue(p, end, depth) : failKind("an object", kind);
      return checkTaggedAndChoose(sp, p, end, depth);
    case S_CONTENT:
      return checkContent(sp, p, end, depth);
    case S_EMBEDDING_ITEM:
      return checkEmbeddingItem(p, end, depth);
    case S_TEXTS:
      return checkTexts(p, end, depth);
  }
  return skipJsonValue(p, end, depth);
}

/** A float64 (or float32) number at p. */
function checkFloat(f32: bool, p: usize, end: usize): usize {
  const q = skipJsonNumber(p, end);
  if (q == 0) return 0;
  if (fitsFloat32(p, q)) return q;
  const v = jsonNumberToF64(p, q);
  if (!isFinite(f32 ? <f64><f32>v : v)) return fail("must be a number within " + (f32 ? "float32" : "float64") + " range");
  return q;
}

const STRING = scalar(S_STRING);
const STRING_AT = changetype<usize>(STRING);
const INTEGER = scalar(S_INT);

/**
 * Whether a number token is surely within float32 range without parsing it: no exponent and at most 38
 * integer digits (below 1e38). The usual temperature or top_p takes this path instead of parseFloat.
 */
function fitsFloat32(p: usize, q: usize): bool {
  if (load<u8>(p) == 0x2d) p++;
  let digits = 0;
  for (; p < q; p++) {
    const c = load<u8>(p);
    if (c == 0x2e) break;
    if (c == 0x65 || c == 0x45) return false;
    digits++;
  }
  for (; p < q; p++) {
    const c = load<u8>(p);
    if (c == 0x65 || c == 0x45) return false;
  }
  return digits <= 38;
}

/** An integer literal that fits in an i64 (no fraction, no exponent). */
function checkInteger(p: usize, end: usize): usize {
  // The usual integer (max_tokens, n, seed: at most 18 digits, so within int64) in one read of its digits.
  let d = p;
  if (load<u8>(d) == 0x2d) d++;
  let e = d;
  while (e < end && <u32>load<u8>(e) - 0x30 < 10) e++;
  const n = e - d;
  if (n != 0 && n <= 18 && (n == 1 || load<u8>(d) != 0x30) && (e >= end || !continuesNumber(load<u8>(e)))) return e;
  return checkIntegerToken(p, end);
}

/** Whether byte c after a number's integer digits starts its fraction or exponent. */
// @ts-ignore: decorator
@inline
function continuesNumber(c: u32): bool {
  return c == 0x2e || (c | 0x20) == 0x65;
}

/** checkInteger for any number token: the grammar first, then the integer and its range. */
function checkIntegerToken(p: usize, end: usize): usize {
  const q = skipJsonNumber(p, end);
  if (q == 0) return 0;
  for (let i = p; i < q; i++) {
    const c = load<u8>(i);
    if (c == 0x2e || c == 0x65 || c == 0x45) {
      return fail("must be an integer, got " + String.UTF8.decodeUnsafe(p, q - p));
    }
  }
  jsonNumberToI64(p, q);
  if (!jsonNumberOk()) return fail("must be an integer within int64 range");
  return q;
}

/** An object (S_OBJECT: the members named in the table; S_MAP: every member as `elem`). */
function checkObject(sp: usize, p: usize, end: usize, depth: i32): usize {
  const elem = kindOf(sp) == S_MAP ? elemOf(sp) : 0;
  p = open(p, end, 0x7d);
  if (p == 0 || closed) return p;
  while (true) {
    if (p >= end) return jsonFail(JSON_UNEXPECTED_END, end);
    p = key(p, end);
    if (p == 0) return 0;
    const ks = keyStart, ke = keyEnd, kesc = keyEscaped;
    const mp = elem == 0 ? memberAt(sp, ks, ke, kesc) : 0;
    if (elem == 0 && mp == 0) {
      p = skipJsonValue(p, end, depth + 1);
    } else {
      p = checkValue(elem != 0 ? elem : schemaOf(mp), p, end, depth + 1);
      if (p == 0 && schemaFailed) {
        if (mp != 0) prefixMemberName(mp);
        else prefixKey(ks, ke, kesc);
      }
    }
    if (p == 0) return 0;
    p = next(p, end, 0x7d);
    if (p == 0 || closed) return p;
  }
  return 0; // unreachable
}

/** A map key in front of the failure path (on the error path only). */
function prefixKey(ks: usize, ke: usize, escaped: bool): void {
  prefixPath(jsonStringValue(ks, ke, escaped));
}

/** An array index in front of the failure path (on the error path only). */
function prefixIndex(i: i32): void {
  prefixPath("[" + i.toString() + "]");
}

function checkArray(ep: usize, p: usize, end: usize, depth: i32): usize {
  p = open(p, end, 0x5d);
  if (p == 0 || closed) return p;
  const tagged = kindOf(ep) == S_TAGGED;
  for (let i = 0; ; i++) {
    const q = tagged && p < end && load<u8>(p) == 0x7b ? checkTagFirst(ep, p, end, depth + 1) : TAG_NOT_FIRST;
    p = q != TAG_NOT_FIRST ? q : checkValue(ep, p, end, depth + 1);
    if (p == 0) {
      if (schemaFailed) prefixIndex(i);
      return 0;
    }
    p = next(p, end, 0x5d);
    if (p == 0 || closed) return p;
  }
  return 0; // unreachable
}

/**
 * Envoy AI Gateway's hand-written unions for completions `prompt` and embeddings `input`
 * (internal/apischema/openai/union.go): null and other kinds are rejected; an array's first element
 * decides whether it is []string, []int64, [][]int64 or (input only) objects with a non-empty `content`.
 */
function checkNestedUnion(objects: bool, p: usize, end: usize, depth: i32): usize {
  const kind = jsonKindAt(p, end);
  if (kind == KIND_STRING) return skipJsonString(p, end);
  if (objects && kind == KIND_OBJECT) return checkEmbeddingItem(p, end, depth);
  const expected = objects ? "a string, an object or an array" : "a string or an array";
  if (kind != KIND_ARRAY) return failKind(expected, kind);
  const first = skipJsonWs(p + 1, end);
  const k = jsonKindAt(first, end);
  if (k == KIND_STRING) return checkArray(STRING_AT, p, end, depth);
  if (k == KIND_NUMBER) return checkArray(changetype<usize>(INTEGER), p, end, depth);
  if (k == KIND_ARRAY) return checkArray(changetype<usize>(INTEGER_ARRAY), p, end, depth);
  if (k == KIND_OBJECT && objects) return checkArray(changetype<usize>(EMBEDDING_ITEM), p, end, depth);
  if (first < end && load<u8>(first) == 0x5d) return first + 1; // empty
  if (k == KIND_OBJECT || k == KIND_TRUE || k == KIND_FALSE || k == KIND_NULL) {
    return fail("must be an array of strings, integers or integer arrays" + (objects ? " or objects" : "") +
      ", got an array of " + jsonKindName(k) + "s");
  }
  return skipJsonValue(p, end, depth); // a syntax error: let the scanner report it
}

const INTEGER_ARRAY = arrayOf(INTEGER);
// A null element decodes to an item without content, which Envoy AI Gateway rejects.
const EMBEDDING_ITEM = nonNull(scalar(S_EMBEDDING_ITEM));
// The members of an EmbeddingInputItem; `content` (EmbeddingContent: a string or []string) is S_TEXTS,
// which records whether it is empty.
const EMBEDDING_ITEM_OBJECT = object([
  new Member("content", scalar(S_TEXTS)),
  new Member("task_type", STRING),
  new Member("title", STRING),
]);
let textsEmpty = true;

/** An embedding input item {content, task_type, title} whose (last) content is a non-empty string or array. */
function checkEmbeddingItem(p: usize, end: usize, depth: i32): usize {
  const kind = jsonKindAt(p, end);
  if (kind != KIND_OBJECT) return failKind("an object with a non-empty content", kind);
  textsEmpty = true;
  p = checkObject(changetype<usize>(EMBEDDING_ITEM_OBJECT), p, end, depth);
  if (p != 0 && textsEmpty) return fail('must have a non-empty "content"');
  return p;
}

/** S_TEXTS: a string or an array of strings, not null; sets textsEmpty. */
function checkTexts(p: usize, end: usize, depth: i32): usize {
  const k = jsonKindAt(p, end);
  const vs = p;
  if (k == KIND_STRING) p = skipJsonString(p, end);
  else if (k == KIND_ARRAY) p = checkArray(STRING_AT, p, end, depth);
  else if (k == KIND_NULL) p = skipJsonValue(p, end, depth);
  else return failKind("a string or an array of strings", k);
  textsEmpty = k == KIND_NULL || (k == KIND_STRING ? p - vs == 2 : onlyWs(vs + 1, p - 1));
  return p;
}

function onlyWs(p: usize, end: usize): bool {
  return skipJsonWs(p, end) == end;
}

// Tagged objects ------------------------------------------------------------------------------------

// What the last checkTagged found: the variants the object is valid for (bit i = variants[i]), the one its
// tag names (-1: no tag, -2: a tag naming no variant), and the first error per variant.
let taggedAccepted: u32 = 0;
let taggedChosen: i32 = -1;
let taggedErrors: StaticArray<string> | null = null;

const TAG_MISSING: i32 = -1;
const TAG_UNKNOWN: i32 = -2;

/**
 * A tagged object (p at '{'): each member is checked once, against the variants that declare it; a
 * member that fails marks those variants bad (keeping the first error of each) and the scan goes on.
 * Afterwards taggedAccepted/taggedChosen/taggedErrors describe the result; returns 0 only on a syntax
 * error. Errors in taggedErrors are "path\u0000message" relative to the object.
 */
function checkTagged(sp: usize, p: usize, end: usize, depth: i32): usize {
  const s = changetype<Schema>(sp);
  const variants = s.variants!;
  const all: u32 = variants.length >= 32 ? 0xffffffff : (<u32>1 << variants.length) - 1;
  let bad: u32 = 0;
  let errors: StaticArray<string> | null = null;
  let chosen = TAG_MISSING;
  p = open(p, end, 0x7d);
  if (p == 0) return 0;
  if (!closed) {
    while (true) {
      if (p >= end) return jsonFail(JSON_UNEXPECTED_END, end);
      p = key(p, end);
      if (p == 0) return 0;
      const ks = keyStart, ke = keyEnd, kesc = keyEscaped;
      const vs = p;
      const m = changetype<Member | null>(memberAt(sp, ks, ke, kesc));
      if (chosen == TAG_MISSING && jsonStringEquals(ks, ke, kesc, s.tag)) chosen = variantOf(s, vs, end);
      if (m == null) {
        p = skipJsonValue(p, end, depth + 1);
        if (p == 0) return 0;
      } else {
        let accepted: u32 = 0xffffffff;
        let sub: StaticArray<string> | null = null;
        if (m.schema.kind == S_CONTENT) {
          p = checkContent(changetype<usize>(m.schema), p, end, depth + 1);
          if (p == 0) return 0;
          accepted = taggedAccepted;
          sub = taggedErrors;
        } else {
          p = checkValue(changetype<usize>(m.schema), p, end, depth + 1);
          if (p == 0) {
            if (!schemaFailed) return 0;
            schemaFailed = false;
            accepted = 0;
            // Keep scanning past the bad value (this re-reads it: on the error path only).
            p = skipJsonValue(vs, end, depth + 1);
            if (p == 0) return 0;
          }
        }
        const newlyBad = m.variants & all & ~accepted & ~bad;
        if (newlyBad != 0) {
          if (errors == null) errors = newErrors(variants.length);
          for (let i = 0; i < variants.length; i++) {
            if ((newlyBad & (<u32>1 << i)) == 0) continue;
            if (sub != null) {
              errors[i] = joinPath(m.name, unchecked(sub[i]));
            } else {
              errors[i] = joinPath(m.name, schemaPath + "\u0000" + schemaMessage);
            }
          }
          bad |= newlyBad;
        }
      }
      p = next(p, end, 0x7d);
      if (p == 0) return 0;
      if (closed) break;
    }
  }
  let accepted = all & ~bad;
  if (chosen == TAG_MISSING && s.missingVariant >= 0) chosen = s.missingVariant;
  // Variants chosen by the tag are accepted only when the tag names them; untagged ones ("") always compete.
  accepted &= ~s.taggedVariants | (chosen >= 0 ? <u32>1 << chosen : 0);
  taggedAccepted = accepted;
  taggedChosen = chosen;
  taggedErrors = errors;
  return p;
}

/** "seg" + relative "path\0message" → "seg.path\0message" (or "seg[i]..."). */
function joinPath(segment: string, err: string): string {
  if (err.length == 0 || err.charCodeAt(0) == 0) return segment + err;
  return err.charCodeAt(0) == 0x5b ? segment + err : segment + "." + err;
}

function variantOf(s: Schema, p: usize, end: usize): i32 {
  if (jsonKindAt(p, end) != KIND_STRING) return TAG_UNKNOWN;
  const q = skipJsonString(p, end);
  if (q == 0) return TAG_UNKNOWN; // the syntax error surfaces when the value is checked
  const escaped = jsonLastStringEscaped();
  const variants = s.variants!;
  const bytes = s.variantBytes;
  const n = q - p - 2;
  for (let i = 0, c = variants.length; i < c; i++) {
    const v = unchecked(bytes[i]);
    if (v.byteLength == 0) continue;
    if (escaped ? jsonStringEquals(p, q, true, unchecked(variants[i]))
      : <usize>v.byteLength == n && bytesEqual(p + 1, changetype<usize>(v), n)) return i;
  }
  return TAG_UNKNOWN;
}

/** A tagged object whose tag must name a variant that accepts it (message, response_format, thinking). */
function checkTaggedAndChoose(sp: usize, p: usize, end: usize, depth: i32): usize {
  const q = checkTagFirst(sp, p, end, depth);
  if (q != TAG_NOT_FIRST) return q;
  p = checkTagged(sp, p, end, depth);
  if (p == 0) return 0;
  return raiseTagged(sp, p);
}

const TAG_NOT_FIRST: usize = 1; // never a position after an object

/**
 * The usual case of checkTaggedAndChoose: the tag is the first key and names a variant. That variant alone
 * decides, so each member is checked against it only and the first failure is the error (the one
 * checkTagged would keep for it); members it does not declare are skipped. Otherwise returns TAG_NOT_FIRST
 * having looked only at the first key and value, for checkTagged.
 */
function checkTagFirst(sp: usize, p: usize, end: usize, depth: i32): usize {
  const first = skipJsonWs(p + 1, end);
  if (first >= end || load<u8>(first) != 0x22) return TAG_NOT_FIRST;
  const tag = load<usize>(sp, offsetof<Schema>("tagAt"));
  const n = <usize>load<i32>(sp, offsetof<Schema>("tagLen"));
  if (first + n + 2 > end || load<u8>(first + n + 1) != 0x22 || !bytesEqual(first + 1, tag, n)) return TAG_NOT_FIRST;
  let v = skipJsonWs(first + n + 2, end);
  if (v >= end || load<u8>(v) != 0x3a) return TAG_NOT_FIRST;
  v = skipJsonWs(v + 1, end);
  const chosen = variantAt(sp, v, end);
  if (chosen < 0) return TAG_NOT_FIRST;
  const bit = <u32>1 << chosen;
  if (load<bool>(sp, offsetof<Schema>("tagIsString"))) {
    // The tag's value is a string that variantAt has read whole: its member's check is done.
    p = next(variantEnd, end, 0x7d);
    if (p == 0 || closed) return p;
  } else {
    p = first;
  }
  while (true) {
    if (p >= end) return jsonFail(JSON_UNEXPECTED_END, end);
    p = key(p, end);
    if (p == 0) return 0;
    const mp = memberAt(sp, keyStart, keyEnd, keyEscaped);
    if (mp == 0 || (load<u32>(mp, offsetof<Member>("variants")) & bit) == 0) {
      p = skipJsonValue(p, end, depth + 1);
    } else {
      // A string is all a string member or message content needs (content: if the variant takes content).
      const ms = schemaOf(mp);
      const kind = kindOf(ms);
      if (p < end && load<u8>(p) == 0x22 && (kind == S_STRING ||
        kind == S_CONTENT && (load<u32>(ms, offsetof<Schema>("allRoles")) & bit) != 0)) {
        p = skipJsonString(p, end);
      } else if (kind == S_CONTENT) {
        p = checkContentOf(mp, chosen, p, end, depth + 1);
      } else {
        p = checkValue(ms, p, end, depth + 1);
        if (p == 0 && schemaFailed) prefixMemberName(mp);
      }
    }
    if (p == 0) return 0;
    p = next(p, end, 0x7d);
    if (p == 0 || closed) return p;
  }
  return 0; // unreachable
}

/** The content member at mp of a message of variant `chosen` (p at its value): fails with its error. */
function checkContentOf(mp: usize, chosen: i32, p: usize, end: usize, depth: i32): usize {
  p = checkContent(schemaOf(mp), p, end, depth);
  if (p != 0 && (taggedAccepted & (<u32>1 << chosen)) == 0) {
    return failWith(joinPath(changetype<Member>(mp).name, unchecked(taggedErrors![chosen])));
  }
  return p;
}

/** Where the string variantAt read last ends. */
let variantEnd: usize = 0;

/** The tagged variant an unescaped string at p names, or -1 (any other value: left to checkTagged). */
function variantAt(sp: usize, p: usize, end: usize): i32 {
  if (p >= end || load<u8>(p) != 0x22) return -1;
  const q = skipJsonString(p, end);
  if (q == 0 || jsonLastStringEscaped()) return -1;
  variantEnd = q;
  const n = q - p - 2;
  const spans = load<usize>(sp, offsetof<Schema>("variantSpans"));
  const c = load<i32>(sp, offsetof<Schema>("variantCount"));
  for (let i = 0; i < c; i++) {
    const at = load<usize>(spans + (<usize>(2 * i) << alignof<usize>()));
    const len = load<usize>(spans + (<usize>(2 * i + 1) << alignof<usize>()));
    if (len != 0 && len == n && bytesEqual(p + 1, at, n)) return i;
  }
  return -1;
}

function raiseTagged(sp: usize, p: usize): usize {
  const s = changetype<Schema>(sp);
  const chosen = taggedChosen;
  if (chosen < 0 && s.openTags) return p;
  if (chosen == TAG_MISSING) {
    fail("is missing");
    schemaPath = s.tag;
    return 0;
  }
  if (chosen == TAG_UNKNOWN) {
    fail("must be one of " + quotedList(s.variants!));
    schemaPath = s.tag;
    return 0;
  }
  if ((taggedAccepted & (<u32>1 << chosen)) != 0) return p;
  return failWith(taggedErrors![chosen]);
}

/** Fails with a "path\0message" error. */
function failWith(err: string): usize {
  const z = err.indexOf("\u0000");
  fail(err.substring(z + 1));
  schemaPath = err.substring(0, z);
  return 0;
}

function quotedList(values: Array<string>): string {
  let s = "";
  for (let i = 0; i < values.length; i++) {
    const v = unchecked(values[i]);
    if (v.length == 0) continue;
    s += (s.length > 0 ? ", " : "") + '"' + v + '"';
  }
  return s;
}

/**
 * Message `content` (p at its value), valid or not per message variant (role): sets taggedAccepted to the
 * roles it suits and taggedErrors to why not for the others. Returns 0 only on a syntax error.
 * A string suits every role; null the roles in `nullRoles`; an array the roles that every part suits; an
 * object (a single part) the roles in `objectRoles` that it suits.
 */
function checkContent(sp: usize, p: usize, end: usize, depth: i32): usize {
  const s = changetype<Schema>(sp);
  const kind = jsonKindAt(p, end);
  const roles = s.allRoles;
  let accepted: u32 = 0;
  let errors: StaticArray<string> | null = null;
  if (kind == KIND_STRING) {
    p = skipJsonString(p, end);
    accepted = roles;
  } else if (kind == KIND_ARRAY) {
    accepted = roles;
    p = open(p, end, 0x5d);
    if (p == 0) return 0;
    if (!closed) {
      for (let i = 0; ; i++) {
        p = checkPart(s, p, end, depth + 1);
        if (p == 0) return 0;
        const bad = accepted & ~partRoles;
        if (bad != 0) {
          if (errors == null) errors = newErrors(32);
          for (let r = 0; r < 32; r++) {
            if ((bad & (<u32>1 << r)) != 0) errors[r] = joinPath("[" + i.toString() + "]", unchecked(partErrors![r]));
          }
          accepted &= partRoles;
        }
        p = next(p, end, 0x5d);
        if (p == 0) return 0;
        if (closed) break;
      }
    }
  } else if (kind == KIND_OBJECT) {
    p = checkPart(s, p, end, depth);
    if (p == 0) return 0;
    accepted = partRoles & s.objectRoles;
    errors = newErrors(32);
    for (let r = 0; r < 32; r++) {
      if ((roles & ~accepted & (<u32>1 << r)) == 0) continue;
      errors[r] = (s.objectRoles & (<u32>1 << r)) != 0 ? unchecked(partErrors![r])
        : "\u0000must be a string or an array, got an object";
    }
  } else {
    p = skipJsonValue(p, end, depth);
    if (p == 0) return 0;
    accepted = kind == KIND_NULL ? s.nullRoles : 0;
    errors = newErrors(32);
    for (let r = 0; r < 32; r++) errors[r] = "\u0000must be a string or an array, got " + articled(kind);
  }
  taggedAccepted = accepted;
  taggedErrors = errors;
  return p;
}

// What the last checkPart found: the roles (message variants) the part suits, and why not for the others.
let partRoles: u32 = 0;
let partErrors: StaticArray<string> | null = null;

/** One content part (any kind at p): checked as a tagged object, its variants mapped to roles. */
function checkPart(s: Schema, p: usize, end: usize, depth: i32): usize {
  const part = s.elem!;
  const map = s.partRoles!;
  const kind = jsonKindAt(p, end);
  let roles: u32 = 0;
  let errors: StaticArray<string> | null = null;
  if (kind == KIND_OBJECT) {
    p = checkTagged(changetype<usize>(part), p, end, depth);
    if (p == 0) return 0;
    const variants = part.variants!;
    for (let v = 0; v < variants.length; v++) {
      if ((taggedAccepted & (<u32>1 << v)) != 0) roles |= unchecked(map[v]);
    }
    // Why a role is not served: the error of its tagged variant (or of the one untagged variant it has).
    if ((s.allRoles & ~roles) != 0) {
      errors = newErrors(32);
      for (let r = 0; r < 32; r++) {
        if ((s.allRoles & ~roles & (<u32>1 << r)) != 0) errors[r] = partError(part, map, r);
      }
    }
  } else {
    p = skipJsonValue(p, end, depth);
    if (p == 0) return 0;
    // A null element decodes to a zero part where the element type is a plain struct (not the user union).
    if (kind == KIND_NULL) {
      const variants = part.variants!;
      for (let v = 0; v < variants.length; v++) {
        if (unchecked(variants[v]).length == 0) roles |= unchecked(map[v]);
      }
    }
    errors = newErrors(32);
    for (let r = 0; r < 32; r++) errors[r] = "\u0000must be an object, got " + articled(kind);
  }
  partRoles = roles;
  partErrors = errors;
  return p;
}

function partError(part: Schema, map: StaticArray<u32>, role: i32): string {
  const variants = part.variants!;
  const bit = <u32>1 << role;
  // An untagged variant serving the role: its own error.
  for (let v = 0; v < variants.length; v++) {
    if (unchecked(variants[v]).length == 0 && (unchecked(map[v]) & bit) != 0) return errorOf(v);
  }
  // Tagged variants: the tag's problem, or the chosen variant's error.
  if (taggedChosen == TAG_MISSING) return part.tag + "\u0000is missing";
  if (taggedChosen == TAG_UNKNOWN || (unchecked(map[taggedChosen]) & bit) == 0) {
    let names = new Array<string>();
    for (let v = 0; v < variants.length; v++) if ((unchecked(map[v]) & bit) != 0) names.push(variants[v]);
    return part.tag + "\u0000must be one of " + quotedList(names);
  }
  return errorOf(taggedChosen);
}

function errorOf(variant: i32): string {
  const e = taggedErrors;
  return e != null && unchecked(e[variant]).length != 0 ? unchecked(e[variant]) : "\u0000is invalid";
}

/** Per-variant errors, "" = none. Allocated only once a check has failed. */
function newErrors(n: i32): StaticArray<string> {
  const a = new StaticArray<string>(n);
  for (let i = 0; i < n; i++) unchecked((a[i] = ""));
  return a;
}
