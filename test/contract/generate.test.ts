// contract/: the one declaration of the host/filter contract and the files generated from it.
import { execFileSync } from "node:child_process";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { PLUGIN_CONFIG_VERSION } from "../../src-host/config/plugin-config.js";

const ROOT = resolve(import.meta.dirname, "../..");
// Plain JavaScript modules (run by make contract without a build): loaded untyped.
const GENERATOR: string = resolve(ROOT, "contract/generate.mjs");
const SCHEMA: string = resolve(ROOT, "contract/plugin-config.mjs");

describe("plugin configuration contract", () => {
  it("the generated host and filter files are what contract/plugin-config.mjs generates (else: make contract)", () => {
    expect(() => execFileSync(process.execPath, [GENERATOR, "--check"], { cwd: ROOT, stdio: "pipe" })).not.toThrow();
  });

  it("versions every field, type, bound and constant both sides check, and nothing else", async () => {
    const { contractVersion } = await import(GENERATOR);
    const schema = JSON.parse(JSON.stringify({ ...(await import(SCHEMA)) }));
    expect(contractVersion(schema)).toBe(PLUGIN_CONFIG_VERSION);
    const versionAfter = (edit: (s: any) => void): string => {
      const s = JSON.parse(JSON.stringify(schema));
      edit(s);
      return contractVersion(s);
    };
    expect(versionAfter((s) => (s.classes.PoolConfig.fields[0].doc = "reworded"))).toBe(PLUGIN_CONFIG_VERSION);
    expect(versionAfter((s) => (s.about = "reworded"))).toBe(PLUGIN_CONFIG_VERSION);
    const changes: Array<(s: any) => void> = [
      (s) => s.classes.PoolConfig.fields.push({ name: "newField", type: "string" }),
      (s) => (s.classes.PoolConfig.fields[0].optional = true),
      (s) => (s.classes.PoolConfig.fields[6].max = 1000),
      (s) => (s.classes.RuleConfig.fields[1].type = "string"),
      (s) => s.enums.CostType.push("ImageToken"),
      (s) => (s.constants[0].value = "x-other"),
    ];
    const versions = changes.map(versionAfter);
    expect(new Set([PLUGIN_CONFIG_VERSION, ...versions]).size).toBe(changes.length + 1);
  });
});
