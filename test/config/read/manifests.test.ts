// Reading manifests as kubectl apply does, and the small parsers the workload plan relies on.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { applyManifests, expandPaths } from "../../../src-host/config/read/manifests.js";
import { Problems } from "../../../src-host/config/read/problems.js";
import { eppSecureServing, expand, goFlag, imageKind } from "../../../src-host/config/build/workloads.js";
import { isLoopbackIPv4 } from "../../../src-host/config/model/loopback.js";
import { GATEWAY, ipBackend, loadFiles, manifestDir, route } from "../helpers.js";

const cm = (name: string, value: string, ns?: string) =>
  `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n${ns ? `  namespace: ${ns}\n` : ""}data:\n  k: ${value}\n`;

describe("loading", () => {
  test("a directory's *.yaml and *.yml files in lexical order, not recursive; files named directly", () => {
    const dir = manifestDir({ "b.yml": cm("x", "b"), "a.yaml": cm("x", "a"), "c.txt": cm("x", "c"), "10.yaml": cm("y", "1") });
    mkdirSync(join(dir, "sub.yaml"));
    writeFileSync(join(dir, "sub.yaml", "z.yaml"), cm("x", "z"));
    const problems = new Problems();
    const files = expandPaths([dir, join(dir, "c.txt")], problems);
    expect(problems.errors).toEqual([]);
    expect(files).toEqual(["10.yaml", "a.yaml", "b.yml", "c.txt"].map((f) => join(dir, f)));
    const objects = applyManifests(files, problems);
    // x is defined by a.yaml, then replaced by b.yml, then by c.txt; it keeps its first position (after y).
    expect(objects.map((o) => [o.name, (o.object.data as { k: string }).k, o.source])).toEqual([
      ["y", 1, join(dir, "10.yaml")],
      ["x", "c", join(dir, "c.txt")],
    ]);
  });

  test("identity is group, kind, namespace and name: other namespaces and kinds do not replace", () => {
    const dir = manifestDir({
      "a.yaml": [cm("x", "default"), cm("x", "other", "other"), cm("x", "explicit-default", "default")].join("---\n"),
      "b.yaml": "apiVersion: v1\nkind: Secret\nmetadata: {name: x}\nstringData: {k: s}\n",
    });
    const problems = new Problems();
    const objects = applyManifests(expandPaths([dir], problems), problems);
    expect(objects.map((o) => `${o.kind} ${o.namespace}/${o.name}`)).toEqual(["ConfigMap default/x", "ConfigMap other/x", "Secret default/x"]);
    expect((objects[0]!.object.data as { k: string }).k).toBe("explicit-default");
    expect(objects[0]!.object.metadata.namespace).toBe("default");
  });

  test("kind: List is expanded; empty documents and comments are skipped", () => {
    const dir = manifestDir({
      "l.yaml": `# only a comment\n---\n---\napiVersion: v1\nkind: List\nitems:\n  - ${JSON.stringify({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "a" } })}\n  - ${JSON.stringify({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "b" } })}\n---\n`,
    });
    const problems = new Problems();
    const objects = applyManifests(expandPaths([dir], problems), problems);
    expect(problems.errors).toEqual([]);
    expect(objects.map((o) => o.name)).toEqual(["a", "b"]);
    expect(objects[0]!.line).toBe(4);
  });

  test("the API version does not take part in identity: a later version replaces", () => {
    const { cfg } = loadFiles({
      "gw.yaml": GATEWAY,
      "a.yaml": ipBackend("b"),
      "b.yaml": ipBackend("b", "127.0.0.9").replace("aigateway.envoyproxy.io/v1alpha1", "aigateway.envoyproxy.io/v1beta1"),
      "r.yaml": route("r", [["m", "{name: b}"]]),
    });
    expect(cfg.objects.filter((o) => o.kind === "AIServiceBackend").map((o) => o.version)).toEqual(["v1beta1"]);
    expect(cfg.gateway.clusters[0]!.endpoints[0]!.address).toBe("127.0.0.9");
  });
});

describe("parsers", () => {
  test("imageKind ignores registry, tag and digest", () => {
    expect(imageKind("docker.io/envoyproxy/ai-gateway-testupstream:latest")).toBe("testupstream");
    expect(imageKind("envoyproxy/ai-gateway-testupstream")).toBe("testupstream");
    expect(imageKind("localhost:5000/envoyproxy/ai-gateway-testupstream@sha256:abc")).toBe("testupstream");
    expect(imageKind("ghcr.io/llm-d/llm-d-inference-sim:v0.4.0")).toBe("vllm-sim");
    expect(imageKind("registry.k8s.io/gateway-api-inference-extension/epp:v1.0.1")).toBe("epp");
    expect(imageKind("us-central1-docker.pkg.dev/k8s-staging-images/gateway-api-inference-extension/epp:main")).toBe("epp");
    expect(imageKind("vllm/vllm-openai:latest")).toBeUndefined();
    expect(imageKind("evil/envoyproxy-ai-gateway-testupstream")).toBeUndefined();
  });

  test("goFlag reads Go flag syntax", () => {
    const args = ["--pool-name", "mistral", "-pool-namespace=ns", "--secure-serving", "--v", "4", "positional", "--config-file", "x"];
    expect(goFlag(args, "pool-name")).toBe("mistral");
    expect(goFlag(args, "pool-namespace")).toBe("ns");
    expect(goFlag(args, "v")).toBe("4");
    expect(goFlag(args, "config-file")).toBeUndefined(); // after a positional argument Go stops parsing
    expect(goFlag(args, "missing")).toBeUndefined();
  });

  test("eppSecureServing defaults to true, as the stock EPP", () => {
    expect(eppSecureServing([])).toBe(true);
    expect(eppSecureServing(["--secure-serving"])).toBe(true);
    expect(eppSecureServing(["--secure-serving=true"])).toBe(true);
    expect(eppSecureServing(["--secure-serving=false"])).toBe(false);
    expect(eppSecureServing(["-secure-serving=0"])).toBe(false);
  });

  test("expand follows Kubernetes $(VAR) rules", () => {
    const env = { A: "1", B: "two" };
    expect(expand("$(A)-$(B)", env)).toBe("1-two");
    expect(expand("$$(A) $(C) $ $(A", env)).toBe("$(A) $(C) $ $(A");
    expect(expand("cost$", env)).toBe("cost$");
  });

  test("isLoopbackIPv4", () => {
    for (const a of ["127.0.0.1", "127.10.3.2", "127.255.255.254"]) expect(isLoopbackIPv4(a)).toBe(true);
    for (const a of ["128.0.0.1", "10.0.0.1", "127.0.0.256", "127.0.01.1", "::1", "localhost", "127.0.0"]) expect(isLoopbackIPv4(a)).toBe(false);
  });
});
