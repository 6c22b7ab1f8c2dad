// Test module for the request-side gateway logic (assembly/gateway/json, request, regex, config).
// Its tests (loaded by test/assembly/gateway/request-module.ts) copy inputs into memory from alloc() and read text results
// (UTF-8) at resultPtr()/resultLen().

import {
  jsonValidate, jsonError, jsonErrorAt, jsonErrorMessage,
} from "../../assembly/gateway/json/scan";
import { JsonReader } from "../../assembly/gateway/json/reader";
import { KIND_ARRAY, KIND_FALSE, KIND_NULL, KIND_NUMBER, KIND_OBJECT, KIND_STRING, KIND_TRUE } from "../../assembly/gateway/json/scan";
import { jsonQuote, LocalReply } from "../../assembly/gateway/errors";
import { compileRegex } from "../../assembly/gateway/regex";
import { FilterConfig, loadPluginConfig } from "../../assembly/gateway/config";
import { RequestFacts, scanRequestBody, Span } from "../../assembly/gateway/request/body";
import { endpointOf, endpointOperation } from "../../assembly/gateway/request/endpoint";
import { BodyEdits, planRewrite } from "../../assembly/gateway/request/rewrite";
import { HeaderOverlay, HeaderSource, firstMatch, pickBackend } from "../../assembly/gateway/request/route";
import { requestHost } from "../../assembly/gateway/request/host";
import { MODEL_HEADER } from "../../assembly/gateway/plugin-config";
import { xdsRouteName } from "../../assembly/gateway/tokens/route-key";
import { bodyTooLarge, contentLength, decideOnBody, decideOnHeaders } from "../../assembly/gateway/request/decide";

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

// --- request side ---

let config: FilterConfig | null = null;
const facts = new RequestFacts();

function str(ptr: usize, len: usize): string {
  return String.UTF8.decodeUnsafe(ptr, len);
}

/** Loads a plugin configuration: 0 = ok, 1 = rejected (message in the result). */
/** `envPtr`/`envLen`: the VM environment as "NAME=value" lines (none when envLen is 0). */
export function loadConfig(ptr: usize, len: usize, envPtr: usize, envLen: usize): i32 {
  const env = new Map<string, string>();
  if (envLen > 0) {
    const lines = str(envPtr, envLen).split("\n");
    for (let i = 0; i < lines.length; i++) {
      const eq = lines[i].indexOf("=");
      if (eq > 0) env.set(lines[i].substring(0, eq), lines[i].substring(eq + 1));
    }
  }
  const r = loadPluginConfig(ptr, len, env);
  if (r.config == null) {
    setResult(r.error);
    return 1;
  }
  config = r.config;
  setResult("");
  return 0;
}

function spanJson(s: Span): string {
  return "[" + s.kind.toString() + "," + s.start.toString() + "," + s.end.toString() + "]";
}

/** Scans a body for the endpoint of `path`; the result is the facts (or the error) as JSON. */
export function scanBody(pathPtr: usize, pathLen: usize, ptr: usize, len: usize): i32 {
  const ok = scanRequestBody(endpointOf(str(pathPtr, pathLen)), ptr, len, facts);
  if (!ok) return setResult('{"ok":false,"error":' + jsonQuote(facts.error) + "}");
  return setResult('{"ok":true,"model":' + jsonQuote(facts.model) + ',"modelSpan":' + spanJson(facts.modelSpan) +
    ',"messages":' + spanJson(facts.messages) + ',"prompt":' + spanJson(facts.prompt) + ',"input":' + spanJson(facts.input) +
    ',"stream":' + spanJson(facts.stream) + ',"streamOptions":' + spanJson(facts.streamOptions) +
    ',"includeUsage":' + spanJson(facts.includeUsage) + ',"streamOptionsOpen":' + facts.streamOptionsOpen.toString() +
    ',"streamOptionsEmpty":' + facts.streamOptionsEmpty.toString() + ',"objectClose":' + facts.objectClose.toString() +
    ',"streaming":' + facts.streaming.toString() + "}");
}

/** Model extraction as the filter does it (chat endpoint): the model's length, or -1 when the body is rejected. */
export function extractModel(ptr: usize, len: usize): i32 {
  if (!scanRequestBody(1 /* Endpoint.ChatCompletions */, ptr, len, facts)) return -1;
  return facts.model.length;
}

/**
 * Scans a chat body and rewrites it (newModel empty = no override): returns the new length with the bytes
 * in the result, -1 when nothing changes, -2 when the body is rejected.
 */
export function rewriteBody(ptr: usize, len: usize, modelPtr: usize, modelLen: usize, forceUsage: i32): i32 {
  if (!scanRequestBody(1 /* Endpoint.ChatCompletions */, ptr, len, facts)) return -2;
  const edits = planRewrite(facts, modelLen > 0 ? str(modelPtr, modelLen) : null, forceUsage != 0);
  if (edits == null) return -1;
  result = editedBody(edits, ptr, len);
  return result.byteLength;
}

/** The edited body from its pieces, checked against the same edits applied as Envoy's front writes. */
function editedBody(edits: BodyEdits, ptr: usize, len: usize): ArrayBuffer {
  const pieces = edits.pieces(ptr, len);
  const out = new ArrayBuffer(<i32>edits.editedLength(len));
  let o = changetype<usize>(out);
  for (let i = 0; i < pieces.length; i++) {
    memory.copy(o, pieces[i].ptr, pieces[i].len);
    o += pieces[i].len;
  }
  // Envoy's buffer: the original; each write drains from the front, then prepends.
  let buffer = new Uint8Array(<i32>len);
  memory.copy(buffer.dataStart, ptr, len);
  const writes = edits.frontWrites(ptr);
  for (let i = 0; i < writes.length; i++) {
    const w = writes[i];
    const next = new Uint8Array(buffer.length - <i32>w.drain + <i32>w.piece.len);
    memory.copy(next.dataStart, w.piece.ptr, w.piece.len);
    memory.copy(next.dataStart + w.piece.len, buffer.dataStart + <usize>w.drain, <usize>(buffer.length - <i32>w.drain));
    buffer = next;
  }
  if (buffer.length != out.byteLength || memory.compare(buffer.dataStart, changetype<usize>(out), <usize>buffer.length) != 0) {
    throw new Error("front writes disagree with the edited pieces");
  }
  return out;
}

function replyJson(r: LocalReply | null): string {
  if (r == null) return "null";
  return '{"status":' + r.status.toString() + ',"contentType":' + jsonQuote(r.contentType) + ',"body":' + jsonQuote(r.body) + "}";
}

export function decideHeaders(pathPtr: usize, pathLen: usize, contentLength: i64): i32 {
  const d = decideOnHeaders(config!, str(pathPtr, pathLen), contentLength);
  return setResult('{"endpoint":' + (<i32>d.endpoint).toString() + ',"operation":' + jsonQuote(endpointOperation(d.endpoint)) +
    ',"reply":' + replyJson(d.reply) + "}");
}

/** A content-length value (UTF-8 at ptr) as the filter reads it: -1 for none or invalid. */
export function parseContentLength(ptr: usize, len: usize): i64 {
  return contentLength(len == 0 ? null : str(ptr, len));
}

export function tooLarge(size: i64): i32 {
  return setResult(replyJson(bodyTooLarge(config!, size)));
}

/** Request headers from a JSON object {"name": "value"} (names as given). */
class JsonHeaders extends HeaderSource {
  names: Array<string> = [];
  values: Array<string> = [];

  constructor(ptr: usize, len: usize) {
    super();
    const r = new JsonReader(ptr, len);
    r.enterObject();
    while (r.nextMember()) {
      this.names.push(r.key());
      this.values.push(r.readString()!);
    }
  }

  get(name: string): string | null {
    for (let i = 0; i < this.names.length; i++) if (this.names[i] == name) return this.values[i];
    return null;
  }
}

export function decideBody(pathPtr: usize, pathLen: usize, ptr: usize, len: usize, hPtr: usize, hLen: usize,
  random: f64, forceUsage: i32): i32 {
  const path = str(pathPtr, pathLen);
  const headers = new JsonHeaders(hPtr, hLen);
  const d = decideOnBody(config!, endpointOf(path), path, ptr, len, headers, random, forceUsage != 0, facts);
  const edits = d.edits;
  // As the filter names the counter of an unshared rate limit rule, once x-ai-eg-model is set.
  const rule = d.rule;
  const xdsRoute = rule != null
    ? jsonQuote(xdsRouteName(rule, firstMatch(rule, new HeaderOverlay(MODEL_HEADER, d.model, headers)), requestHost(headers.get(":authority"))))
    : "null";
  const body = edits != null ? editedBody(edits, ptr, len) : null;
  return setResult('{"reply":' + replyJson(d.reply) + ',"model":' + jsonQuote(d.model) + ',"upstreamModel":' +
    jsonQuote(d.upstreamModel) + ',"rule":' + (d.rule != null ? jsonQuote(d.rule!.name) : "null") + ',"backend":' +
    (d.backend != null ? jsonQuote(d.backend!.name) : "null") + ',"body":' +
    (body != null ? jsonQuote(String.UTF8.decode(body)) : "null") + ',"xdsRoute":' + xdsRoute + "}");
}

/** The backend picked in rule `index` of the loaded configuration for `random`, or "" for none. */
export function pick(index: i32, random: f64): i32 {
  const b = pickBackend(config!.rules[index], random);
  return setResult(b != null ? b.name : "");
}

/** The compiled configuration as JSON, to check that every value survived parsing. */
export function configDump(): i32 {
  const c = config!;
  const rules = new Array<string>();
  for (let i = 0; i < c.rules.length; i++) {
    const r = c.rules[i];
    const matches = new Array<string>();
    for (let j = 0; j < r.matches.length; j++) {
      const hs = new Array<string>();
      for (let k = 0; k < r.matches[j].length; k++) {
        const h = r.matches[j][k];
        hs.push('{"name":' + jsonQuote(h.name) + ',"exact":' + jsonQuote(h.exact) + ',"regex":' +
          (h.regex != null ? jsonQuote(h.regex!.pattern) : "null") + "}");
      }
      matches.push("[" + hs.join(",") + "]");
    }
    const backends = new Array<string>();
    for (let j = 0; j < r.backends.length; j++) {
      const b = r.backends[j];
      backends.push('{"name":' + jsonQuote(b.name) + ',"kind":' + (<i32>b.kind).toString() + ',"weight":' + b.weight.toString() +
        ',"modelNameOverride":' + jsonQuote(b.modelNameOverride) +
        (b.credentialHeader.length > 0 ? ',"credential":' + jsonQuote(b.credentialHeader + ": " + b.credentialValue) : "") + ',"pool":' + (b.pool != null ? jsonQuote(b.pool!.name) : "null") + "}");
    }
    rules.push('{"route":' + jsonQuote(r.route) + ',"index":' + r.index.toString() + ',"totalWeight":' + r.totalWeight.toString() +
      ',"matches":[' + matches.join(",") + '],"backends":[' + backends.join(",") + "]}");
  }
  const pools = new Array<string>();
  const keys = c.pools.keys();
  for (let i = 0; i < keys.length; i++) {
    const p = c.pools.get(keys[i]);
    pools.push('{"name":' + jsonQuote(p.name) + ',"eppCluster":' + jsonQuote(p.eppCluster) + ',"eppAuthority":' + jsonQuote(p.eppAuthority) +
      ',"failureMode":' + jsonQuote(p.failureMode) + ',"bodyMode":' + jsonQuote(p.bodyMode) + ',"allowModeOverride":' +
      p.allowModeOverride.toString() + ',"timeoutMs":' + p.timeoutMs.toString() + "}");
  }
  return setResult('{"maxRequestBodyBytes":' + c.maxRequestBodyBytes.toString() + ',"rules":[' + rules.join(",") +
    '],"pools":[' + pools.join(",") + "]}");
}

/** GET /v1/models for a request whose :authority is the UTF-8 at ptr (`present` 0: no :authority). */
export function modelsBody(ptr: usize, len: usize, present: i32): i32 {
  return setResult(config!.modelsListing.bodyFor(present != 0 ? str(ptr, len) : null));
}
