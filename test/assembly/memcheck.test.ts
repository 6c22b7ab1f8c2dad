// The memory checker reports what it is there for, with the wasm function that did it, and stays quiet for
// writes within a block: test/modules/memcheck-faults.ts, built with the rtrace hooks as `make memcheck` builds
// the module.
import { readFileSync } from "node:fs";
import { beforeEach, expect, it } from "vitest";
import { Memcheck } from "./memcheck.js";

let memcheck: Memcheck;
let exports: Record<string, () => void>;

beforeEach(() => {
  memcheck = new Memcheck();
  let instance: WebAssembly.Instance | undefined;
  const exit = (code: number) => {
    if (code !== 0) throw new Error(`proc_exit(${code})`);
  };
  instance = new WebAssembly.Instance(new WebAssembly.Module(readFileSync("test/.build/memcheck-faults.wasm")), {
    rtrace: memcheck.instrumentation.imports(() => instance?.exports.memory as WebAssembly.Memory | undefined),
    wasi_snapshot_preview1: { proc_exit: exit, fd_write: () => 0 },
  });
  exports = instance.exports as Record<string, () => void>;
  exports._start!();
});

it("stays quiet for stores and copies within a block", () => {
  exports.inBounds!();
  exports.inBounds!();
  expect(memcheck.take()).toEqual([]);
});

it("reports a store past a block's end into the next block's header, with the function", () => {
  exports.overrun!();
  const [report, ...rest] = memcheck.take();
  expect(rest).toEqual([]);
  expect(report).toMatch(/^store of 2 bytes at \d+: the header of block \d+/);
  expect(report).toContain("memcheck-faults/overrun");
});

it("reports a store past an object's size that stays within its block", () => {
  exports.objectOverrun!();
  const [report] = memcheck.take();
  expect(report).toMatch(/^store of 1 bytes at \d+: 0 bytes past the 13-byte object in block \d+/);
  expect(report).toContain("memcheck-faults/objectOverrun");
});

it("reports a memory.copy one byte too long", () => {
  exports.copyOverrun!();
  const [report] = memcheck.take();
  expect(report).toMatch(/^store of 1 bytes at \d+: the header of block \d+/);
  expect(report).toContain("memcheck-faults/copyOverrun");
});

it("reports a store into a freed block", () => {
  exports.useAfterFree!();
  const [report] = memcheck.take();
  expect(report).toMatch(/^store of 4 bytes at \d+: inside free block \d+/);
  expect(report).toContain("memcheck-faults/useAfterFree");
});
