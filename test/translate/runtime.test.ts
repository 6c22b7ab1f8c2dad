// aigw translate --runtime: each Envoy Wasm runtime gets its VmConfig.runtime and the module it can load
// (WAMR as Envoy builds it has SIMD off: the scalar module), in the bootstrap, the Compose file and the
// Envoy Gateway resources; every bootstrap still passes Envoy's API check.
import { resolve } from "node:path";
import { describe, expect, test } from "vitest";
import { parse, parseAllDocuments } from "yaml";
import { runTranslateCli } from "../../src-host/cli/translate.js";
import { checkBootstrap } from "../../src-host/translate/envoy-schema.js";
import { RUNTIME_MODULES, WASM_RUNTIMES } from "../../src-host/translate/runtime.js";
import { builtModule, ROOT, sha256File, translate } from "../../src-host/translate/translate.js";
import { hcmOf, tempDir } from "./helpers.js";

type Obj = Record<string, any>;

describe("aigw translate --runtime", () => {
  test.each(WASM_RUNTIMES)("%s: the bootstrap names the runtime and its module, and passes Envoy's API check", (runtime) => {
    const { files, warnings } = translate({ runtime });
    const bootstrap: Obj = parse(files[0]!.content);
    const vm = hcmOf(bootstrap).http_filters[0].typed_config.config.vm_config;
    const module = runtime === "wamr" ? "ai-gateway-scalar.wasm" : "ai-gateway.wasm";
    expect(vm.runtime).toBe(`envoy.wasm.runtime.${runtime}`);
    expect(vm.code.local.filename).toBe(`/etc/envoy/${module}`);
    expect(files[0]!.content).toContain(`# Runtime envoy.wasm.runtime.${runtime}: module build/${module} (${runtime === "wamr" ? "scalar" : "SIMD"}`);
    expect(checkBootstrap(bootstrap)).toEqual([]);
    const official = warnings.filter((w) => w.includes("ship V8 only"));
    expect(official.length).toBe(runtime === "v8" ? 0 : 1);
  });

  test("wamr --docker mounts the scalar module where the bootstrap reads it", () => {
    const dir = tempDir();
    const [envoy, compose] = translate({ runtime: "wamr", docker: true, outDir: dir }).files.map((f) => parse(f.content) as Obj);
    const mounts = new Map<string, string>(compose!.services.envoy.volumes.map((v: string) => v.split(":").slice(0, 2).reverse() as [string, string]));
    const filename = hcmOf(envoy!).http_filters[0].typed_config.config.vm_config.code.local.filename;
    expect(filename).toBe("/etc/envoy/ai-gateway-scalar.wasm");
    expect(resolve(dir, mounts.get(filename)!)).toBe(resolve(ROOT, "build/ai-gateway-scalar.wasm"));
  });

  test("--module still overrides the container path", () => {
    const bootstrap: Obj = parse(translate({ runtime: "wamr", modulePath: "/opt/m.wasm" }).files[0]!.content);
    expect(hcmOf(bootstrap).http_filters[0].typed_config.config.vm_config).toMatchObject({
      runtime: "envoy.wasm.runtime.wamr",
      code: { local: { filename: "/opt/m.wasm" } },
    });
  });

  test("Envoy Gateway: V8 is EG's own; another runtime is patched onto the filter, and the header names the module", () => {
    const code = { type: "Image" as const, url: "r.example/aigw:1" };
    const patchesOf = (content: string) =>
      parseAllDocuments(content)
        .map((d) => d.toJS())
        .find((d) => d.kind === "EnvoyPatchPolicy").spec.jsonPatches as Obj[];
    const v8 = translate({ target: "envoy-gateway", code }).files[0]!.content;
    expect(patchesOf(v8).filter((p) => p.operation.path?.includes("vm_config"))).toEqual([]);
    expect(v8).toContain("# Runtime envoy.wasm.runtime.v8: module build/ai-gateway.wasm (SIMD).");
    const wamr = translate({ target: "envoy-gateway", code, runtime: "wamr" }).files[0]!.content;
    const runtimePatches = patchesOf(wamr).filter((p) => p.operation.path === "/typed_config/config/vm_config/runtime");
    expect(runtimePatches.length).toBeGreaterThan(0);
    for (const p of runtimePatches) {
      expect(p.operation).toMatchObject({ op: "replace", value: "envoy.wasm.runtime.wamr" });
      expect(p.operation.jsonPath).toMatch(/^\.\.http_filters\[\?\(@\.name=='envoy\.filters\.http\.wasm\/envoyextensionpolicy\//);
    }
    expect(wamr).toContain("# Runtime envoy.wasm.runtime.wamr: module build/ai-gateway-scalar.wasm (scalar");
    expect(wamr).toContain("--target envoy-gateway --runtime wamr`");
  });

  test("the CLI: --runtime picks the module whose checksum --wasm-http defaults to; a wrong name is refused", async () => {
    let stdout = "";
    const io = { stdout: (t: string) => void (stdout += t), stderr: () => {} };
    await runTranslateCli(["--target", "envoy-gateway", "--runtime", "wamr", "--wasm-http", "https://files.example/m.wasm"], io);
    const eep = parseAllDocuments(stdout)
      .map((d) => d.toJS())
      .find((d) => d.kind === "EnvoyExtensionPolicy");
    expect(eep.spec.wasm[0].code.http.sha256).toBe(sha256File(builtModule("wamr")));
    expect(sha256File(builtModule("wamr"))).not.toBe(sha256File(builtModule("v8")));
    await expect(runTranslateCli(["--runtime", "wazero"], io)).rejects.toThrow('--runtime must be v8, wamr, wasmtime, got "wazero"');
    expect(RUNTIME_MODULES.v8.vmRuntime).toBe("envoy.wasm.runtime.v8");
  });
});
