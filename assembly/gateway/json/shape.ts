// A JSON document checked against an expected shape with the project's own reader, and written back out
// in a canonical form (known fields only, strings re-quoted by jsonQuote, integers as plain digits) for
// json-as to parse. json-as aborts the module on malformed input or a field of the wrong type, and
// mis-decodes some valid spellings (it reads "\/" as NUL and 1e3 as 633), so it only ever sees the forms
// it handles; every problem comes back as a message naming the field (e.g. `rules[0].weight: must be …`).

import { jsonQuote } from "../errors";
import { JsonReader } from "./reader";
import { jsonKindName, KIND_ARRAY, KIND_FALSE, KIND_NUMBER, KIND_OBJECT, KIND_STRING, KIND_TRUE } from "./scan";

export const T_STRING: i32 = 0;
export const T_INTEGER: i32 = 1;
export const T_BOOL: i32 = 2;
export const T_OBJECTS: i32 = 3; // array of objects, each checked by `elem`
export const T_OBJECT: i32 = 4; // one object, checked by `elem`
export const T_STRINGS: i32 = 5; // array of strings

export type ElementCheck = (r: JsonReader, at: string, out: Array<string>) => string;

export class Field {
  constructor(
    public name: string,
    public type: i32,
    public elem: ElementCheck | null = null,
    /** Bounds for T_INTEGER. */
    public min: i64 = i64.MIN_VALUE,
    public max: i64 = i64.MAX_VALUE,
    /** An optional field: absent means an empty array (T_OBJECTS, T_STRINGS) or "" (T_STRING). */
    public optional: bool = false,
  ) {}
}

/** Checks the document's shape; on success `out` holds its canonical text, else the error is returned. */
export function checkShape(ptr: usize, len: usize, fields: Array<Field>, out: Array<string>): string {
  const r = new JsonReader(ptr, len);
  const e = checkObject(r, "", fields, out);
  if (e.length > 0) return e;
  if (!r.atEnd()) return r.errorMessage();
  return "";
}

/** Checks the object at the cursor against `fields` (all required; unknown keys are validated and dropped). */
export function checkObject(r: JsonReader, at: string, fields: Array<Field>, out: Array<string>): string {
  if (r.kind() != KIND_OBJECT) return (at.length > 0 ? at : "configuration") + ": must be an object, got " + kindOf(r);
  r.enterObject();
  const seen = new StaticArray<bool>(fields.length);
  out.push("{");
  let first = true;
  while (r.nextMember()) {
    let i = 0;
    while (i < fields.length && !r.keyIs(fields[i].name)) i++;
    if (i == fields.length) {
      if (!r.skip()) return r.errorMessage();
      continue;
    }
    const f = fields[i];
    const path = at.length > 0 ? at + "." + f.name : f.name;
    if (seen[i]) return path + ": duplicate key";
    seen[i] = true;
    if (!first) out.push(",");
    first = false;
    out.push(jsonQuote(f.name) + ":");
    const e = checkValue(r, path, f, out);
    if (e.length > 0) return e;
  }
  if (!r.ok()) return r.errorMessage();
  for (let i = 0; i < fields.length; i++) {
    if (seen[i]) continue;
    if (!fields[i].optional) return (at.length > 0 ? at + "." : "") + fields[i].name + ": missing";
    out.push((first ? "" : ",") + jsonQuote(fields[i].name) + (fields[i].type == T_STRING ? ':""' : ":[]"));
    first = false;
  }
  out.push("}");
  return "";
}

function checkValue(r: JsonReader, path: string, f: Field, out: Array<string>): string {
  const k = r.kind();
  switch (f.type) {
    case T_STRING: {
      if (k != KIND_STRING) return path + ": must be a string, got " + kindOf(r);
      const v = r.readString();
      if (v == null) return r.errorMessage();
      out.push(jsonQuote(v));
      return "";
    }
    case T_BOOL:
      if (k != KIND_TRUE && k != KIND_FALSE) return path + ": must be a boolean, got " + kindOf(r);
      out.push(r.readBool() ? "true" : "false");
      return "";
    case T_INTEGER: {
      if (k != KIND_NUMBER) return path + ": must be an integer, got " + kindOf(r);
      const v = r.readInteger();
      if (!r.ok()) return path + ": must be an integer, got " + String.UTF8.decodeUnsafe(r.valueStart, r.valueEnd - r.valueStart);
      if (v < f.min || v > f.max) return path + ": must be between " + f.min.toString() + " and " + f.max.toString() + ", got " + v.toString();
      out.push(v.toString());
      return "";
    }
    case T_OBJECT:
      return f.elem!(r, path, out);
    case T_STRINGS: {
      if (k != KIND_ARRAY) return path + ": must be an array, got " + kindOf(r);
      r.enterArray();
      out.push("[");
      let i = 0;
      while (r.nextElement()) {
        const at = path + "[" + i.toString() + "]";
        if (r.kind() != KIND_STRING) return at + ": must be a string, got " + kindOf(r);
        const v = r.readString();
        if (v == null) return r.errorMessage();
        out.push((i > 0 ? "," : "") + jsonQuote(v));
        i++;
      }
      if (!r.ok()) return r.errorMessage();
      out.push("]");
      return "";
    }
    case T_OBJECTS: {
      if (k != KIND_ARRAY) return path + ": must be an array, got " + kindOf(r);
      r.enterArray();
      out.push("[");
      let i = 0;
      const check = f.elem!;
      while (r.nextElement()) {
        if (i > 0) out.push(",");
        const e = check(r, path + "[" + i.toString() + "]", out);
        if (e.length > 0) return e;
        i++;
      }
      if (!r.ok()) return r.errorMessage();
      out.push("]");
      return "";
    }
  }
  return path + ": unknown field type";
}

function kindOf(r: JsonReader): string {
  return r.ok() ? jsonKindName(r.kind()) : r.errorMessage();
}
