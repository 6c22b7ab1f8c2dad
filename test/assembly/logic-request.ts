// Test module for the request-side gateway logic (assembly/gateway/json, request, regex, config).
// The tests in test/gateway-logic/ copy inputs into memory from alloc() and read text results
// (UTF-8) at resultPtr()/resultLen().

import {
  jsonValidate, jsonError, jsonErrorAt, jsonErrorMessage,
} from "../../assembly/gateway/json/scan";
import { JsonReader } from "../../assembly/gateway/json/reader";
import { KIND_ARRAY, KIND_FALSE, KIND_NULL, KIND_NUMBER, KIND_OBJECT, KIND_STRING, KIND_TRUE } from "../../assembly/gateway/json/scan";
import { jsonQuote } from "../../assembly/gateway/errors";
import { compileRegex } from "../../assembly/gateway/regex";

let result: ArrayBuffer = new ArrayBuffer(0);

function setResult(s: string): i32 {
  result = String.UTF8.encode(s);
  return result.byteLength;
}

export function alloc(n: usize): usize {
  return heap.alloc(n == 0 ? 1 : n);
}

export function free(p: usize): void {
  heap.free(p);
}

export function resultPtr(): usize {
  return changetype<usize>(result);
}

export function resultLen(): i32 {
  return result.byteLength;
}

/** Validates a document: returns the error code (0 = valid); the message goes to the result. */
export function validate(ptr: usize, len: usize): i32 {
  if (jsonValidate(ptr, len)) {
    setResult("");
    return 0;
  }
  setResult(jsonErrorMessage(ptr));
  return jsonError();
}

/** Offset of the last validation error. */
export function errorOffset(ptr: usize): i32 {
  return <i32>(jsonErrorAt() - ptr);
}

/**
 * Walks the whole document with JsonReader and writes it back as JSON (strings decoded and re-quoted,
 * number tokens copied): exercises the reader's iteration, keys and reads.
 * Returns 0 or the error code (message in the result).
 */
export function readerDump(ptr: usize, len: usize): i32 {
  const r = new JsonReader(ptr, len);
  const out = new Array<string>();
  dumpValue(r, out);
  if (r.ok()) r.atEnd();
  if (!r.ok()) {
    setResult(r.errorMessage());
    return r.errorCode();
  }
  setResult(out.join(""));
  return 0;
}

function dumpValue(r: JsonReader, out: Array<string>): void {
  const k = r.kind();
  if (k == KIND_OBJECT) {
    r.enterObject();
    out.push("{");
    let first = true;
    while (r.nextMember()) {
      if (!first) out.push(",");
      first = false;
      out.push(jsonQuote(r.key()));
      out.push(":");
      dumpValue(r, out);
      if (!r.ok()) return;
    }
    out.push("}");
  } else if (k == KIND_ARRAY) {
    r.enterArray();
    out.push("[");
    let first = true;
    while (r.nextElement()) {
      if (!first) out.push(",");
      first = false;
      dumpValue(r, out);
      if (!r.ok()) return;
    }
    out.push("]");
  } else if (k == KIND_STRING) {
    const s = r.readString();
    if (s != null) out.push(jsonQuote(s));
  } else if (k == KIND_NUMBER) {
    r.readNumber();
    if (r.ok()) out.push(String.UTF8.decodeUnsafe(r.valueStart, r.valueEnd - r.valueStart));
  } else if (k == KIND_TRUE || k == KIND_FALSE) {
    out.push(r.readBool() ? "true" : "false");
  } else if (k == KIND_NULL) {
    r.skip();
    out.push("null");
  } else {
    r.skip();
  }
}

/** Reads an array of numbers with readInteger: one line per element, the value or "no". */
export function readIntegers(ptr: usize, len: usize): i32 {
  const r = new JsonReader(ptr, len);
  const out = new Array<string>();
  r.enterArray();
  while (r.nextElement()) {
    const v = r.readInteger();
    out.push(r.ok() ? v.toString() : "no");
    if (!r.ok()) break;
  }
  setResult(out.join("\n"));
  return r.ok() ? 0 : r.errorCode();
}

/**
 * Compiles a pattern and matches it against a JSON array of strings: the result is "E:<error>" or one
 * character per input, "1" for a full match and "0" otherwise.
 */
export function regexMatch(patPtr: usize, patLen: usize, inputsPtr: usize, inputsLen: usize): i32 {
  const r = compileRegex(String.UTF8.decodeUnsafe(patPtr, patLen));
  const re = r.regex;
  if (re == null) return setResult("E:" + r.error);
  const reader = new JsonReader(inputsPtr, inputsLen);
  let out = "";
  reader.enterArray();
  while (reader.nextElement()) {
    const s = reader.readString();
    out += s != null && re.matches(s) ? "1" : "0";
  }
  return setResult(out);
}
