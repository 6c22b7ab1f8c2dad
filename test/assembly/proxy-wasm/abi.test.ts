// The SDK's modules must load in Envoy: every SDK test module passes the ABI checker and exports every
// callback Envoy looks up with the 0.2.1 names, and the checker is shown to refuse what Envoy refuses.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative, resolve } from "node:path";

const ROOT = resolve(import.meta.dirname, "../../..");
const CHECKER = resolve(ROOT, "../shared/tools/wasm-abi-check.mjs");
// The checker is the workspace's (beside the repository, as the Makefile uses it); a clone elsewhere skips.
const HAVE_CHECKER = existsSync(CHECKER);
const SOURCES = join(ROOT, "test/modules");
const BUILT = join(ROOT, "test/.build");
const FIXTURES = join(ROOT, "test/assembly/proxy-wasm/fixtures");
const ASC = join(ROOT, "node_modules/assemblyscript/bin/asc.js");

const sdkModules = readdirSync(SOURCES)
  .filter((f) => /^sdk-.*\.ts$/.test(f))
  .map((f) => f.replace(/\.ts$/, ""));

function check(wasmPath: string): { status: number | null; output: string } {
  const r = spawnSync(process.execPath, [CHECKER, wasmPath], { encoding: "utf8" });
  return { status: r.status, output: r.stdout + r.stderr };
}

// Compiled like the Makefile does: the asc CLI from the project root, relative paths, its own process
// (asc keeps library state between in-process runs).
function compile(source: string, outFile: string, withShim: boolean): void {
  // asc reads ./asconfig.json (the production one, with the shim) unless told otherwise.
  const config = withShim ? "test/modules/asconfig.json" : "test/assembly/proxy-wasm/fixtures/plain-asconfig.json";
  const args = [ASC, relative(ROOT, source), "--outFile", outFile, "--config", config];
  const r = spawnSync(process.execPath, args, { cwd: ROOT, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`asc ${source} failed:\n${r.stderr}`);
}

// The callbacks Envoy looks up by name for an HTTP filter (proxy-wasm-cpp-host src/wasm.cc).
const ENVOY_CALLBACKS = [
  "proxy_abi_version_0_2_1",
  "malloc",
  "_start",
  "memory",
  "proxy_on_context_create",
  "proxy_on_vm_start",
  "proxy_on_configure",
  "proxy_on_tick",
  "proxy_on_queue_ready",
  "proxy_on_foreign_function",
  "proxy_on_request_headers",
  "proxy_on_request_body",
  "proxy_on_request_trailers",
  "proxy_on_request_metadata",
  "proxy_on_response_headers",
  "proxy_on_response_body",
  "proxy_on_response_trailers",
  "proxy_on_response_metadata",
  "proxy_on_http_call_response",
  "proxy_on_grpc_receive_initial_metadata",
  "proxy_on_grpc_receive",
  "proxy_on_grpc_receive_trailing_metadata",
  "proxy_on_grpc_close",
  "proxy_on_log",
  "proxy_on_done",
  "proxy_on_delete",
  "proxy_on_new_connection",
  "proxy_on_downstream_data",
  "proxy_on_upstream_data",
  "proxy_on_downstream_connection_close",
  "proxy_on_upstream_connection_close",
];

describe.skipIf(!HAVE_CHECKER)("the production module", () => {
  it("build/ai-gateway.wasm passes the Envoy ABI checker and exports every callback Envoy looks up", () => {
    const wasm = join(ROOT, "build/ai-gateway.wasm");
    const r = check(wasm);
    expect(r.output).toMatch(/^ok: /m);
    expect(r.status).toBe(0);
    const exported = WebAssembly.Module.exports(new WebAssembly.Module(readFileSync(wasm))).map((e) => e.name);
    for (const name of ENVOY_CALLBACKS) expect(exported, name).toContain(name);
  });
});

describe.skipIf(!HAVE_CHECKER)("SDK test modules", () => {
  it("exist for every test/modules/sdk-*.ts", () => {
    expect(sdkModules.length).toBeGreaterThanOrEqual(8);
    for (const m of sdkModules) expect(existsSync(join(BUILT, `${m}.wasm`)), `${m}.wasm was not built`).toBe(true);
  });

  it.each(sdkModules)("%s passes the Envoy ABI checker", (m) => {
    const r = check(join(BUILT, `${m}.wasm`));
    expect(r.output).toMatch(/^ok: /m);
    expect(r.status).toBe(0);
  });

  it.each(sdkModules)("%s exports every callback Envoy looks up, and no misnamed one", (m) => {
    const mod = new WebAssembly.Module(readFileSync(join(BUILT, `${m}.wasm`)));
    const exported = WebAssembly.Module.exports(mod).map((e) => e.name);
    for (const name of ENVOY_CALLBACKS) expect(exported, name).toContain(name);
    expect(exported).not.toContain("proxy_on_grpc_trailing_metadata");
    expect(exported).not.toContain("proxy_on_memory_allocate");
    for (const imp of WebAssembly.Module.imports(mod)) {
      expect(["env", "wasi_snapshot_preview1"]).toContain(imp.module);
      if (imp.module === "env") expect(imp.name).toMatch(/^proxy_/);
    }
  });
});

describe.skipIf(!HAVE_CHECKER)("the ABI checker refuses what Envoy refuses", () => {
  const out = mkdtempSync(join(tmpdir(), "sdk-abi-"));
  const built: Record<string, string> = {};

  beforeAll(() => {
    for (const [name, shim] of [
      ["imports-clear-route-cache", true],
      ["stale-grpc-stream", true],
      ["default-abort", false],
    ] as const) {
      built[name] = join(out, `${name}.wasm`);
      compile(join(FIXTURES, `${name}.ts`), built[name], shim);
    }
  }, 120_000);
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it("a 0.2.1 module importing the 0.1.0-only proxy_clear_route_cache", () => {
    const r = check(built["imports-clear-route-cache"]);
    expect(r.status).toBe(1);
    expect(r.output).toContain("import env.proxy_clear_route_cache: exists only for ABI 0.1.0");
  });

  it("proxy_grpc_stream declared with the stale 7-parameter signature", () => {
    const r = check(built["stale-grpc-stream"]);
    expect(r.status).toBe(1);
    expect(r.output).toMatch(/import env\.proxy_grpc_stream: signature \(i32(,i32){6}\)->\(i32\), Envoy registers \(i32(,i32){8}\)->\(i32\)/);
  });

  it("a module built without the wasi-shim: env.abort and a start section", () => {
    const r = check(built["default-abort"]);
    expect(r.status).toBe(1);
    expect(r.output).toContain("import env.abort: Envoy does not provide it");
    expect(r.output).toContain("wasm start section");
  });
});
