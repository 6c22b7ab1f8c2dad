// Thin wrappers over assembly/gateway/cel for test/assembly/gateway/cel/cel.test.ts.
import { compileCel, CelProgram, CelVars } from "../../assembly/gateway/cel/program";

export function alloc(n: i32): usize { return __pin(changetype<usize>(new ArrayBuffer(n))); }
export function free(p: usize): void { __unpin(p); }

let outBuf: ArrayBuffer = new ArrayBuffer(0);
export function outPtr(): usize { return changetype<usize>(outBuf); }
export function outLen(): i32 { return outBuf.byteLength; }

function str(ptr: usize, len: i32): string { return len == 0 ? "" : String.UTF8.decodeUnsafe(ptr, <usize>len); }

const programs = new Array<CelProgram>();
const vars = new CelVars();

/** Compiles; returns a program handle ≥ 0, or -1 with the error text in the output buffer. */
export function compile(ptr: usize, len: i32): i32 {
  const r = compileCel(str(ptr, len));
  const p = r.program;
  if (p === null) {
    outBuf = String.UTF8.encode(r.error);
    return -1;
  }
  programs.push(p);
  return programs.length - 1;
}

export function resultType(handle: i32): i32 { return programs[handle].resultType; }

/** Sets the string variables from "model\nbackend\nroute_name". */
export function setStrings(ptr: usize, len: i32): void {
  const parts = str(ptr, len).split("\n");
  vars.model = parts[0];
  vars.backend = parts.length > 1 ? parts[1] : "";
  vars.routeName = parts.length > 2 ? parts[2] : "";
}

export function setTokens(input: u64, cached: u64, creation: u64, output: u64, total: u64, reasoning: u64): void {
  vars.inputTokens = input;
  vars.cachedInputTokens = cached;
  vars.cacheCreationInputTokens = creation;
  vars.outputTokens = output;
  vars.totalTokens = total;
  vars.reasoningTokens = reasoning;
}

/** Evaluates; true with value(), or false with the error in the output buffer. */
export function evaluate(handle: i32): bool {
  const p = programs[handle];
  if (p.evaluate(vars)) return true;
  outBuf = String.UTF8.encode(p.error);
  return false;
}

export function value(handle: i32): u64 { return programs[handle].value; }
