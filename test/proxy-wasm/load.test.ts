// Load-time checks, each against a module built for the case: Envoy's ABI marker detection, import
// linking (names and signatures, 0.1.0-only calls), the allocator lookup, callback signatures, and the
// restricted host-call set while the module starts. The ABI checker tool must agree on every refusal.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { WasmFilterConfig } from "../../src-host/dataplane-api/bootstrap.js";
import { type Instrumentation, WasmLoadError, loadWasmFilter, validateModule } from "../../src-host/proxy-wasm/index.js";
import { StatsStore } from "../../src-host/stats/index.js";
import { fixtureBytes, uniqueVmId } from "./helpers.js";
import { type FuncSpec, MALLOC, MARKER, type ModuleSpec, buildModule, op } from "./wasm-builder.js";

const config = (): WasmFilterConfig => ({
  name: "t",
  rootId: "r",
  vmId: uniqueVmId(),
  modulePath: "",
  configuration: "",
  allowOnHeadersStopIteration: false,
  failOpen: false,
  workers: 1,
});

async function load(spec: ModuleSpec, logs: string[] = [], instrumentation?: Instrumentation) {
  const filter = await loadWasmFilter({
    instrumentation,
    config: config(),
    module: buildModule(spec),
    clusters: [],
    bufferLimitBytes: 1024,
    stats: new StatsStore(),
    log: (_l, m) => logs.push(m),
  });
  await filter.close();
  return logs;
}

const CHECKER = "../shared/tools/wasm-abi-check.mjs";
const dir = mkdtempSync(join(tmpdir(), "abi-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
/**
 * The workspace's ABI checker (beside the repository) must exit with `status` for the module too. A clone
 * elsewhere has no checker: then only the host's side of each case is checked.
 */
function expectChecker(spec: ModuleSpec, status: 0 | 1): void {
  if (!existsSync(CHECKER)) return;
  const file = join(dir, `m${Math.random().toString(36).slice(2)}.wasm`);
  writeFileSync(file, buildModule(spec));
  expect(spawnSync("node", [CHECKER, file]).status).toBe(status);
}

const LOG_IMPORT = { module: "env", name: "proxy_log", params: ["i32", "i32", "i32"], results: ["i32"] } as const;

describe("ABI marker", () => {
  it("accepts the minimal 0.2.1 module", async () => {
    await expect(load({ funcs: [MARKER, MALLOC] })).resolves.toEqual([]);
    expectChecker({ funcs: [MARKER, MALLOC] }, 0);
  });

  it("refuses a module without a marker", async () => {
    await expect(load({ funcs: [MALLOC] })).rejects.toThrow("Missing or unknown Proxy-Wasm ABI version");
    expectChecker({ funcs: [MALLOC] }, 1);
  });

  it("refuses the 0.1.0 and 0.2.0 ABIs with a clear message", async () => {
    await expect(load({ funcs: [{ exports: ["proxy_abi_version_0_1_0"] }, MALLOC] })).rejects.toThrow(/ABI version 0\.1\.0 is not supported/);
    await expect(load({ funcs: [{ exports: ["proxy_abi_version_0_2_0"] }, MALLOC] })).rejects.toThrow(/ABI version 0\.2\.0 is not supported/);
  });
});

describe("import linking", () => {
  const cases: Array<[string, ModuleSpec, RegExp]> = [
    [
      "an unknown env import",
      { imports: [{ module: "env", name: "proxy_foo", results: ["i32"] }], funcs: [MARKER, MALLOC] },
      /missing import: env\.proxy_foo$/,
    ],
    [
      "AssemblyScript's env.abort",
      { imports: [{ module: "env", name: "abort", params: ["i32", "i32", "i32", "i32"] }], funcs: [MARKER, MALLOC] },
      /missing import: env\.abort/,
    ],
    ["a mistyped proxy_log", { imports: [{ ...LOG_IMPORT, params: ["i32", "i32"] }], funcs: [MARKER, MALLOC] }, /import type mismatch for env\.proxy_log/],
    [
      "a 0.1.0-only import",
      { imports: [{ module: "env", name: "proxy_clear_route_cache", results: ["i32"] }], funcs: [MARKER, MALLOC] },
      /missing import: env\.proxy_clear_route_cache \(registered only for ABI 0\.1\.0/,
    ],
    [
      "an unknown WASI function",
      { imports: [{ module: "wasi_snapshot_preview1", name: "sock_accept", params: ["i32", "i32", "i32"], results: ["i32"] }], funcs: [MARKER, MALLOC] },
      /missing import: wasi_snapshot_preview1\.sock_accept/,
    ],
    [
      "a mistyped WASI function",
      { imports: [{ module: "wasi_unstable", name: "clock_time_get", params: ["i32", "i32", "i32"], results: ["i32"] }], funcs: [MARKER, MALLOC] },
      /import type mismatch for wasi_unstable\.clock_time_get/,
    ],
    ["a global import", { imports: [{ module: "env", name: "g", global: true }], funcs: [MARKER, MALLOC] }, /missing import: env\.g/],
  ];
  for (const [what, spec, message] of cases) {
    it(`refuses ${what}`, async () => {
      await expect(load(spec)).rejects.toThrow(message);
      expectChecker(spec, 1);
    });
  }

  it("links a test build's hooks only when the test supplies them, under their own import module", async () => {
    const spec: ModuleSpec = { imports: [{ module: "rtrace", name: "onalloc", params: ["i32"], results: [] }], funcs: [MARKER, MALLOC] };
    await expect(load(spec)).rejects.toThrow(/missing import: rtrace\.onalloc$/);
    expectChecker(spec, 1);
    const hooks: Instrumentation = { module: "rtrace", imports: () => ({ onalloc: () => undefined }) };
    await expect(load(spec, [], hooks)).resolves.toEqual([]);
    await expect(load({ ...spec, imports: [{ module: "rtrace2", name: "onalloc", params: ["i32"], results: [] }] }, [], hooks)).rejects.toThrow(
      /missing import: rtrace2\.onalloc$/,
    );
    await expect(load({ funcs: [MARKER, MALLOC] }, [], { module: "env", imports: () => ({}) })).rejects.toThrow(
      /instrumentation may not replace the host's import module env/,
    );
  });

  it("links WASI under both module names", async () => {
    const fdWrite = { name: "fd_write", params: ["i32", "i32", "i32", "i32"], results: ["i32"] } as const;
    const spec: ModuleSpec = {
      imports: [
        { module: "wasi_unstable", ...fdWrite },
        { module: "wasi_snapshot_preview1", ...fdWrite },
      ],
      funcs: [MARKER, MALLOC],
    };
    await expect(load(spec)).resolves.toEqual([]);
  });
});

describe("exports", () => {
  it("refuses a module without malloc or proxy_on_memory_allocate", async () => {
    await expect(load({ funcs: [MARKER] })).rejects.toThrow("Wasm module is missing malloc function.");
    expectChecker({ funcs: [MARKER] }, 1);
  });

  it("accepts proxy_on_memory_allocate as the allocator", async () => {
    await expect(load({ funcs: [MARKER, { ...MALLOC, exports: ["proxy_on_memory_allocate"] }] })).resolves.toEqual([]);
  });

  it("refuses a callback with the wrong signature (the 0.1.0 two-parameter on_request_headers)", async () => {
    const spec = {
      funcs: [MARKER, MALLOC, { params: ["i32", "i32"], results: ["i32"], body: op.i32const(0), exports: ["proxy_on_request_headers"] } as FuncSpec],
    };
    await expect(load(spec)).rejects.toThrow("Bad function signature for: proxy_on_request_headers");
    expectChecker(spec, 1);
  });

  it("refuses a module without a memory export", async () => {
    await expect(load({ funcs: [MARKER, MALLOC], memory: false })).rejects.toThrow(/missing memory export/);
  });

  it("calls every export by name, also when optimization merged two of them into one function", async () => {
    // One function exported as both on_vm_start and on_configure: returning 0 must fail at on_vm_start.
    const spec: ModuleSpec = {
      funcs: [MARKER, MALLOC, { params: ["i32", "i32"], results: ["i32"], body: op.i32const(0), exports: ["proxy_on_vm_start", "proxy_on_configure"] }],
    };
    await expect(load(spec)).rejects.toThrow(/proxy_on_vm_start returned false/);
  });
});

describe("start-up under the restricted host-call set", () => {
  const logFrom = (name: string): FuncSpec => ({
    body: [...op.i32const(2), ...op.i32const(16), ...op.i32const(5), ...op.call(0), ...op.drop],
    exports: [name],
  });
  const data = [{ offset: 16, bytes: Uint8Array.from(Buffer.from("hello")) }];

  it("runs _start, where proxy_log is allowed", async () => {
    await expect(load({ imports: [LOG_IMPORT], funcs: [MARKER, MALLOC, logFrom("_start")], data })).resolves.toEqual(["hello"]);
  });

  it("runs _initialize and then main(0, 0), and not _start", async () => {
    const main: FuncSpec = {
      params: ["i32", "i32"],
      results: ["i32"],
      body: [...op.i32const(2), ...op.i32const(17), ...op.i32const(4), ...op.call(0), ...op.drop, ...op.i32const(0)],
      exports: ["main"],
    };
    const logs = await load({ imports: [LOG_IMPORT], funcs: [MARKER, MALLOC, logFrom("_initialize"), main, logFrom("_start")], data });
    expect(logs).toEqual(["hello", "ello"]);
  });

  it("traps with restricted_callback when start-up calls any other host function", async () => {
    const spec: ModuleSpec = {
      imports: [{ module: "env", name: "proxy_set_tick_period_milliseconds", params: ["i32"], results: ["i32"] }],
      funcs: [MARKER, MALLOC, { body: [...op.i32const(10), ...op.call(0), ...op.drop], exports: ["_start"] }],
    };
    await expect(load(spec)).rejects.toThrow(/restricted_callback: env\.proxy_set_tick_period_milliseconds/);
  });

  it("fails the load when start-up traps", async () => {
    await expect(load({ funcs: [MARKER, MALLOC, { body: op.unreachable, exports: ["_start"] }] })).rejects.toThrow(WasmLoadError);
  });
});

describe("memory", () => {
  // on_vm_start returns (host call result == expected): the load succeeds only if the host answered so.
  const GET_PROPERTY = { module: "env", name: "proxy_get_property", params: ["i32", "i32", "i32", "i32"], results: ["i32"] } as const;
  const name = [{ offset: 16, bytes: Uint8Array.from(Buffer.from("plugin_name")) }];
  const vmStartChecking = (call: number[], expected: number): FuncSpec => ({
    params: ["i32", "i32"],
    results: ["i32"],
    body: [...call, ...op.i32const(expected), ...op.i32eq],
    exports: ["proxy_on_vm_start"],
  });
  const getPluginName = [...op.i32const(16), ...op.i32const(11), ...op.i32const(64), ...op.i32const(68), ...op.call(0)];

  it("answers InvalidMemoryAccess (6) for a pointer outside linear memory", async () => {
    const outOfBounds = [...op.i32const(2), ...op.i32const(65530), ...op.i32const(10), ...op.call(0)];
    await expect(load({ imports: [LOG_IMPORT], funcs: [MARKER, MALLOC, vmStartChecking(outOfBounds, 6)] })).resolves.toEqual([]);
    await expect(load({ imports: [LOG_IMPORT], funcs: [MARKER, MALLOC, vmStartChecking(outOfBounds, 0)] })).rejects.toThrow(/returned false/);
  });

  it("answers InvalidMemoryAccess when malloc returns 0", async () => {
    const nullMalloc: FuncSpec = { ...MALLOC, body: op.i32const(0) };
    await expect(load({ imports: [GET_PROPERTY], funcs: [MARKER, nullMalloc, vmStartChecking(getPluginName, 6)], data: name })).resolves.toEqual([]);
  });

  it("writes out-values into memory that malloc just grew", async () => {
    // malloc grows memory by a page and returns the new page's address.
    const growing: FuncSpec = { ...MALLOC, body: [...op.i32const(1), ...op.memoryGrow, ...op.i32const(65536), ...op.i32mul] };
    await expect(load({ imports: [GET_PROPERTY], funcs: [MARKER, growing, vmStartChecking(getPluginName, 0)], data: name })).resolves.toEqual([]);
  });
});

describe("compiled fixtures", () => {
  it("validateModule accepts the AssemblyScript fixtures (wasi-shim _start, re-exported malloc)", () => {
    const v = validateModule(fixtureBytes("host-lifecycle"));
    expect(v).toMatchObject({ abiVersion: "0.2.1", allocator: "malloc", start: "command" });
  });
});
