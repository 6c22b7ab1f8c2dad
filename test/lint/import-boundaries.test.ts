// The import boundaries of biome.jsonc fail on a violating import, and its plugins on a refused call: Biome
// runs with the repository's configuration over a scratch tree that mirrors the repository's folders.
import { execFileSync } from "node:child_process";
import { copyFileSync, cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { afterEach, describe, expect, it } from "vitest";

const ROOT = resolve(import.meta.dirname, "../..");
const BIOME = join(ROOT, "node_modules/.bin/biome");

interface Diagnostic {
  category: string;
  location?: { path?: string };
}

let scratch: string | undefined;
afterEach(() => {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
  scratch = undefined;
});

/** Lints files (path → source) laid out as in the repository; the rule categories found, by file. */
function lint(files: Record<string, string>): Record<string, string[]> {
  scratch = mkdtempSync(join(tmpdir(), "biome-boundaries-"));
  copyFileSync(join(ROOT, "biome.jsonc"), join(scratch, "biome.jsonc"));
  cpSync(join(ROOT, ".ci/biome"), join(scratch, ".ci/biome"), { recursive: true });
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(scratch, path)), { recursive: true });
    writeFileSync(join(scratch, path), text);
  }
  let out: string;
  try {
    out = execFileSync(BIOME, ["lint", "--reporter=json", "--vcs-enabled=false", "--max-diagnostics=none", ...Object.keys(files)], {
      cwd: scratch,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
    });
  } catch (err) {
    out = (err as { stdout: string }).stdout;
  }
  const byFile: Record<string, string[]> = {};
  for (const d of (JSON.parse(out) as { diagnostics: Diagnostic[] }).diagnostics) {
    const file = d.location?.path ?? "";
    (byFile[file] ??= []).push(d.category);
  }
  return byFile;
}

const RESTRICTED = "lint/style/noRestrictedImports";

describe("import boundaries (biome.jsonc)", () => {
  it("src-host/gateway imports neither config/ nor proxy-wasm/, but may import the contract and the stats", () => {
    const found = lint({
      "src-host/gateway/uses-config.ts": 'import type { GatewayModel } from "../config/model/model-gateway.js";\nexport type M = GatewayModel;\n',
      "src-host/gateway/uses-host.ts": 'import { Vm } from "../proxy-wasm/vm.js";\nexport const V = Vm;\n',
      "src-host/gateway/allowed.ts":
        'import type { DataPlaneConfig } from "../dataplane-api/bootstrap.js";\nimport { StatsStore } from "../stats/index.js";\nexport type C = DataPlaneConfig;\nexport const S = StatsStore;\n',
    });
    expect(found["src-host/gateway/uses-config.ts"]).toEqual([RESTRICTED]);
    expect(found["src-host/gateway/uses-host.ts"]).toEqual([RESTRICTED]);
    expect(found["src-host/gateway/allowed.ts"]).toBeUndefined();
  });

  it("src-host/proxy-wasm and src-host/stats do not import the data plane, at any depth", () => {
    const found = lint({
      "src-host/proxy-wasm/callouts/deep.ts": 'import { clusterStats } from "../../gateway/cluster-manager.js";\nexport const c = clusterStats;\n',
      "src-host/stats/shallow.ts": 'import type { Cluster } from "../gateway/cluster-manager.js";\nexport type C = Cluster;\n',
    });
    expect(found["src-host/proxy-wasm/callouts/deep.ts"]).toEqual([RESTRICTED]);
    expect(found["src-host/stats/shallow.ts"]).toEqual([RESTRICTED]);
  });

  it("src-host/dataplane-api imports nothing else of the host", () => {
    const found = lint({ "src-host/dataplane-api/leak.ts": 'import type { StatsStore } from "../stats/store.js";\nexport type S = StatsStore;\n' });
    expect(found["src-host/dataplane-api/leak.ts"]).toEqual([RESTRICTED]);
  });

  it("assembly/proxy-wasm imports nothing outside itself, and is checked despite AssemblyScript's decorators", () => {
    const found = lint({
      "assembly/proxy-wasm/leak.ts":
        'import { MODEL_HEADER } from "../gateway/config";\n// @ts-ignore: decorator\n@inline\nexport function f(): string { return MODEL_HEADER; }\n',
      "assembly/proxy-wasm/inside.ts":
        'import { WasmResult } from "./types";\n// @ts-ignore: decorator\n@inline\nexport function g(): i32 { return WasmResult.Ok; }\n',
    });
    expect(found["assembly/proxy-wasm/leak.ts"]).toEqual(["parse", RESTRICTED]);
    expect(found["assembly/proxy-wasm/inside.ts"]).toEqual(["parse"]);
  });

  it("assembly/gateway logic imports nothing of assembly/proxy-wasm; only the glue files do", () => {
    const found = lint({
      "assembly/gateway/tokens/leak.ts": 'import { logWarn } from "../../proxy-wasm";\nexport function f(): void { logWarn("x"); }\n',
      "assembly/gateway/telemetry/leak.ts": 'import { Histogram } from "../../proxy-wasm/metrics";\nexport const H = Histogram;\n',
      "assembly/gateway/protobuf/leak.ts": 'import { WasmResult } from "../../proxy-wasm/types";\nexport const R = WasmResult.Ok;\n',
      "assembly/gateway/tokens/pure.ts":
        'import { LimitHeaders } from "./limit-headers";\nimport { ProtoWriter } from "../protobuf/wire";\nexport const L = LimitHeaders;\nexport const W = ProtoWriter;\n',
      "assembly/gateway/host-ports.ts": 'import { logWarn } from "../proxy-wasm";\nexport const w = logWarn;\n',
      "assembly/gateway/filter.ts": 'import { logWarn } from "../proxy-wasm";\nexport const w = logWarn;\n',
    });
    expect(found["assembly/gateway/tokens/leak.ts"]).toEqual([RESTRICTED]);
    expect(found["assembly/gateway/telemetry/leak.ts"]).toEqual([RESTRICTED]);
    expect(found["assembly/gateway/protobuf/leak.ts"]).toEqual([RESTRICTED]);
    expect(found["assembly/gateway/tokens/pure.ts"]).toBeUndefined();
    expect(found["assembly/gateway/host-ports.ts"]).toBeUndefined();
    expect(found["assembly/gateway/filter.ts"]).toBeUndefined();
  });

  it("String#replaceAll is refused in assembly/ (AssemblyScript 0.28's overruns its output), not in the host or the tests", () => {
    const call = 'export function f(s: string): string { return s.replaceAll(";", "%3B"); }\n';
    const found = lint({ "assembly/gateway/telemetry/label.ts": call, "src-host/config/label.ts": call, "test/assembly/gateway/label.ts": call });
    expect(found["assembly/gateway/telemetry/label.ts"]).toEqual(["plugin"]);
    expect(found["src-host/config/label.ts"]).toBeUndefined();
    expect(found["test/assembly/gateway/label.ts"]).toBeUndefined();
  });

  it("an import cycle in src-host fails, a type-only one too", () => {
    const cycle = lint({
      "src-host/config/a.ts": 'import { b } from "./b.js";\nexport const a = () => b;\n',
      "src-host/config/b.ts": 'import { a } from "./a.js";\nexport const b = () => a;\n',
    });
    expect(cycle["src-host/config/a.ts"]).toContain("lint/suspicious/noImportCycles");
    const typeOnly = lint({
      "src-host/config/a.ts": 'import type { B } from "./b.js";\nexport interface A { b?: B }\n',
      "src-host/config/b.ts": 'import type { A } from "./a.js";\nexport interface B { a?: A }\n',
    });
    expect(typeOnly["src-host/config/a.ts"]).toContain("lint/suspicious/noImportCycles");
  });
});
