// A misspelled field of an AI Gateway or inference extension resource is warned with the closest known
// name (as kubectl's field validation warns), not silently ignored.
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { closest } from "../../../src-host/config/read/unknown-fields.js";
import { GATEWAY, ipBackend, loadFiles, pool, route } from "../helpers.js";

describe("unknown fields", () => {
  test("llmRequestCost, a misspelled rule field and a cost field are warned with file, object, field and the near name", () => {
    const r =
      route("r", [["m", "{name: b, modelNameOveride: x}"]]) +
      "  llmRequestCost:\n    - {metadataKey: k, type: InputToken, cell: x}\n  llmRequestCosts:\n    - {metadataKey: k, type: InputToken, cell: x}\n";
    const { dir, cfg } = loadFiles({ "gw.yaml": GATEWAY, "b.yaml": ipBackend("b"), "r.yaml": r });
    const at = `${join(dir, "r.yaml")}: AIGatewayRoute default/r`;
    expect(cfg.warnings).toEqual([
      `${at}: spec.rules[0].backendRefs[0].modelNameOveride: unknown field, ignored (did you mean modelNameOverride?)`,
      `${at}: spec.llmRequestCost: unknown field, ignored (did you mean llmRequestCosts?)`,
      `${at}: spec.llmRequestCosts[0].cell: unknown field, ignored (did you mean cel?)`,
    ]);
    expect(cfg.plugin.costs.map((c) => c.metadataKey)).toEqual(["k"]);
  });

  test("an InferencePool field with no near name gets no suggestion; kinds aigw does not model are not checked", () => {
    const p = pool("llama").replace("spec:\n", "spec:\n  frobnicate: 1\n");
    // The Backend (gateway.envoyproxy.io) document of ipBackend: a kind whose schema aigw does not carry.
    const svc = ipBackend("b").replace("apiVersion: gateway.envoyproxy.io/v1alpha1\n", "apiVersion: gateway.envoyproxy.io/v1alpha1\nextraTopLevel: 1\n");
    const { dir, cfg } = loadFiles({ "gw.yaml": GATEWAY, "b.yaml": svc, "p.yaml": p, "r.yaml": route("r", [["m", "{name: b}"]]) });
    expect(cfg.warnings).toContain(`${join(dir, "p.yaml")}: InferencePool default/llama: spec.frobnicate: unknown field, ignored`);
    expect(cfg.warnings.filter((w) => w.includes("extraTopLevel"))).toEqual([]);
  });

  test("closest: a misspelling is near, another word is not", () => {
    expect(closest("llmRequestCost", ["parentRefs", "rules", "llmRequestCosts"])).toBe("llmRequestCosts");
    expect(closest("Rules", ["parentRefs", "rules"])).toBe("rules");
    expect(closest("frobnicate", ["selector", "targetPorts", "endpointPickerRef"])).toBeUndefined();
  });
});
