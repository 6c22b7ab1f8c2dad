// Every problem is found at load, and each names the file, the object and the field.
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { loadConfig } from "../../src-host/config/load-config.js";
import { ConfigError } from "../../src-host/config/read/problems.js";
import { GATEWAY, OPTS, ipBackend, pool, problemsOf, route } from "./helpers.js";

const POOL_REF = "{group: inference.networking.k8s.io, kind: InferencePool, name: llama}";

describe("malformed input", () => {
  test("malformed YAML names the file, line and document", () => {
    const { dir, problems } = problemsOf({ "a.yaml": `${GATEWAY}---\nkind: Service\nmetadata: {name: [x\n` });
    expect(problems).toEqual([
      `${join(dir, "a.yaml")}:21: document 3: malformed YAML: Flow sequence in block collection must be sufficiently indented and end with a ] at line 21, column 1`,
    ]);
  });

  test("duplicate keys are malformed YAML", () => {
    const { problems } = problemsOf({ "a.yaml": `${GATEWAY}---\napiVersion: v1\nkind: ConfigMap\nkind: Secret\nmetadata: {name: x}\n` });
    expect(problems[0]).toMatch(/document 3: malformed YAML: Map keys must be unique/);
  });

  test("missing apiVersion, kind and name", () => {
    const { dir, problems } = problemsOf({
      "a.yaml": `${GATEWAY}---\nkind: Service\nmetadata: {name: s}\n---\napiVersion: v1\nmetadata: {name: s}\n---\napiVersion: v1\nkind: Service\nmetadata: {}\n---\napiVersion: v1\nkind: Service\nspec: {}\n---\n- a list\n`,
    });
    const f = join(dir, "a.yaml");
    expect(problems).toEqual([
      `${f}:19: document 3: apiVersion: required (a non-empty string)`,
      `${f}:22: document 4: kind: required (a non-empty string)`,
      `${f}:25: document 5: Service: metadata.name: required`,
      `${f}:29: document 6: Service: metadata: required`,
      `${f}:33: document 7: not a Kubernetes object (expected a mapping with apiVersion, kind and metadata)`,
    ]);
  });

  test("a path that does not exist, and a directory without YAML", () => {
    const empty = problemsOf({ "notes.txt": "hello" });
    expect(empty.problems).toEqual([`${empty.dir}: directory holds no *.yaml or *.yml file`]);
    let err: unknown;
    try {
      loadConfig(["/nonexistent/aigw.yaml"], OPTS);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).problems).toEqual(["/nonexistent/aigw.yaml: cannot read: ENOENT"]);
  });

  test("unsupported kinds and API versions are refused; kinds without meaning here are ignored", () => {
    const { dir, problems } = problemsOf({
      "a.yaml": `${GATEWAY}---
apiVersion: gateway.networking.k8s.io/v1
kind: GRPCRoute
metadata: {name: g}
---
apiVersion: inference.networking.x-k8s.io/v1alpha2
kind: InferencePool
metadata: {name: old}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: sa}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: cr}
`,
    });
    const f = join(dir, "a.yaml");
    expect(problems).toEqual([
      `${f}: GRPCRoute default/g: kind GRPCRoute (gateway.networking.k8s.io/v1) is not supported by aigw run`,
      `${f}: InferencePool default/old: kind InferencePool (inference.networking.x-k8s.io/v1alpha2) is not supported by aigw run`,
    ]);
  });

  test("wrong field types name the field path", () => {
    const { dir, problems } = problemsOf({
      "gw.yaml": GATEWAY,
      "b.yaml": ipBackend("b"),
      "r.yaml": route("r", [["m", "{name: b, weight: -1}"]]).replace("value: m", "value: 42\n              extra: x"),
    });
    expect(problems).toEqual([
      `${join(dir, "r.yaml")}: AIGatewayRoute default/r: spec.rules[0].matches[0].headers[0].value: must be a string, got number 42`,
      `${join(dir, "r.yaml")}: AIGatewayRoute default/r: spec.rules[0].backendRefs[0].weight: must be between 0 and ∞, got -1`,
    ]);
  });

  test("a streamIdleTimeout that is not a Gateway API duration", () => {
    const { dir, problems } = problemsOf({
      "gw.yaml": GATEWAY,
      "b.yaml": ipBackend("b"),
      "r.yaml": route("r", [["m", "{name: b}"]]).replace("      backendRefs:", "      streamIdleTimeout: 10 seconds\n      backendRefs:"),
    });
    expect(problems).toEqual([
      `${join(dir, "r.yaml")}: AIGatewayRoute default/r: spec.rules[0].streamIdleTimeout: must be a Gateway API duration such as "60s" or "1m30s", got "10 seconds"`,
    ]);
  });
});

describe("dangling references", () => {
  test("a backendRef to a missing AIServiceBackend names route, rule and backendRef", () => {
    const { dir, problems } = problemsOf({
      "gw.yaml": GATEWAY,
      "b.yaml": ipBackend("b"),
      "r.yaml": route("r", [
        ["a", "{name: b}"],
        ["b", "{name: b}"],
        ["c", "{name: missing}"],
      ]),
    });
    expect(problems).toEqual([`${join(dir, "r.yaml")}: AIGatewayRoute default/r: spec.rules[2].backendRefs[0]: AIServiceBackend default/missing not found`]);
  });

  test("a backendRef to a missing InferencePool", () => {
    const { dir, problems } = problemsOf({
      "gw.yaml": GATEWAY,
      "r.yaml": route("r", [["llama", POOL_REF]]),
    });
    expect(problems).toEqual([`${join(dir, "r.yaml")}: AIGatewayRoute default/r: spec.rules[0].backendRefs[0]: InferencePool default/llama not found`]);
  });

  test("a pool whose Endpoint Picker Service is missing is refused at start", () => {
    const { dir, problems } = problemsOf({
      "gw.yaml": GATEWAY,
      "p.yaml": pool("llama", { eppService: false }),
      "r.yaml": route("r", [["llama", POOL_REF]]),
    });
    expect(problems).toEqual([
      `${join(dir, "p.yaml")}: InferencePool default/llama: spec.endpointPickerRef.name: Service default/llama-epp not found (the pool's Endpoint Picker)`,
    ]);
  });

  test("an Endpoint Picker Service without the referenced port", () => {
    const { dir, problems } = problemsOf({
      "gw.yaml": GATEWAY,
      "p.yaml": pool("llama").replace("number: 9002", "number: 9100"),
      "r.yaml": route("r", [["llama", POOL_REF]]),
    });
    expect(problems).toEqual([
      `${join(dir, "p.yaml")}: InferencePool default/llama: spec.endpointPickerRef.port.number: Service default/llama-epp has no port 9100 (ports: 9002)`,
    ]);
  });

  test("a route whose parentRef Gateway does not exist", () => {
    const { dir, problems } = problemsOf({
      "gw.yaml": GATEWAY,
      "b.yaml": ipBackend("b"),
      "r.yaml": route("r", [["m", "{name: b}"]]).replace("- name: gw", "- name: nope"),
    });
    expect(problems).toEqual([`${join(dir, "r.yaml")}: AIGatewayRoute default/r: spec.parentRefs[0]: Gateway default/nope not found`]);
  });

  test("a route attached to a listener that does not exist", () => {
    const { dir, problems } = problemsOf({
      "gw.yaml": GATEWAY,
      "b.yaml": ipBackend("b"),
      "r.yaml": route("r", [["m", "{name: b}"]]).replace("- name: gw", "- name: gw\n      sectionName: https"),
    });
    expect(problems).toEqual([
      `${join(dir, "r.yaml")}: AIGatewayRoute default/r: spec.parentRefs[0].sectionName: Gateway default/gw has no listener named "https"`,
    ]);
  });

  test("an AIServiceBackend whose Backend is missing", () => {
    const { dir, problems } = problemsOf({
      "gw.yaml": GATEWAY,
      "b.yaml": ipBackend("b").split("---")[0]!,
      "r.yaml": route("r", [["m", "{name: b}"]]),
    });
    expect(problems).toEqual([`${join(dir, "b.yaml")}: AIServiceBackend default/b: spec.backendRef: Backend default/b not found`]);
  });

  test("a Backend fqdn that is neither a local Service nor localhost", () => {
    const { dir, problems } = problemsOf({
      "gw.yaml": GATEWAY,
      "b.yaml": ipBackend("b").replace("- ip:\n        address: 127.0.0.1", "- fqdn:\n        hostname: api.openai.com"),
      "r.yaml": route("r", [["m", "{name: b}"]]),
    });
    expect(problems).toEqual([
      `${join(dir, "b.yaml")}: Backend default/b: spec.endpoints[0].fqdn.hostname: "api.openai.com" is neither a Service of these manifests (<service>.<namespace>.svc.cluster.local) nor localhost`,
    ]);
  });

  test("no Gateway at all, and a second Gateway", () => {
    const none = problemsOf({ "b.yaml": ipBackend("b") });
    expect(none.problems).toEqual(["no Gateway: aigw run needs one Gateway (gateway.networking.k8s.io/v1) with an HTTP listener"]);
    const two = problemsOf({ "gw.yaml": GATEWAY, "gw2.yaml": GATEWAY.split("---")[1]!.replace("name: gw", "name: gw2") });
    expect(two.problems).toEqual([`${join(two.dir, "gw2.yaml")}: Gateway default/gw2: aigw run serves one Gateway; Gateway default/gw is already defined`]);
  });
});

describe("unsupported configuration", () => {
  test("an AIServiceBackend schema other than OpenAI", () => {
    const { dir, problems } = problemsOf({
      "gw.yaml": GATEWAY,
      "b.yaml": ipBackend("b").replace("name: OpenAI", "name: AWSBedrock"),
      "r.yaml": route("r", [["m", "{name: b}"]]),
    });
    expect(problems).toEqual([
      `${join(dir, "b.yaml")}: AIServiceBackend default/b: spec.schema.name: schema "AWSBedrock" is not supported by aigw run (only OpenAI)`,
    ]);
  });

  test("an InferencePool mixed with an AIServiceBackend in one rule", () => {
    const { dir, problems } = problemsOf({
      "gw.yaml": GATEWAY,
      "b.yaml": ipBackend("b"),
      "p.yaml": pool("llama"),
      "r.yaml": route("r", [["m", `${POOL_REF}\n        - {name: b}`]]),
    });
    expect(problems).toEqual([
      `${join(dir, "r.yaml")}: AIGatewayRoute default/r: spec.rules[0].backendRefs: an InferencePool cannot be mixed with AIServiceBackends in one rule`,
    ]);
  });

  test("a cross-namespace backendRef without ReferenceGrant", () => {
    const { dir, problems } = problemsOf({
      "gw.yaml": GATEWAY,
      "b.yaml": ipBackend("b", "127.0.0.1", 18080, "other"),
      "r.yaml": route("r", [["m", "{name: b, namespace: other}"]]),
    });
    expect(problems).toEqual([
      `${join(dir, "r.yaml")}: AIGatewayRoute default/r: spec.rules[0].backendRefs[0]: AIServiceBackend other/b is in another namespace and no ReferenceGrant there allows it`,
    ]);
  });

  test("bad options", () => {
    const { problems } = problemsOf({ "gw.yaml": GATEWAY }, { port: 70000, workers: 0, modulePath: "" });
    expect(problems).toEqual([
      "option port: must be an integer from 0 to 65535, got 70000",
      "option workers: must be an integer from 1 to 64, got 0",
      "option modulePath: required (the path of ai-gateway.wasm)",
    ]);
  });
});

describe("addresses must be loopback", () => {
  test("Pod status.podIP, EndpointSlice addresses and Backend ip endpoints", () => {
    const { dir, problems } = problemsOf({
      "gw.yaml": GATEWAY,
      "b.yaml": ipBackend("b", "10.0.0.7"),
      "w.yaml": `apiVersion: v1
kind: Pod
metadata: {name: p, labels: {app: x}}
spec:
  containers: [{name: c, image: busybox}]
status:
  podIP: 192.168.1.10
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: s-1
  labels: {kubernetes.io/service-name: s}
addressType: IPv4
ports: [{port: 80}]
endpoints:
  - addresses: [127.0.0.5, 8.8.8.8]
  - addresses: [127.1.2.300]
`,
    });
    const why = (a: string) => `address "${a}" is not an IPv4 loopback address (127.0.0.0/8); aigw run serves only this machine`;
    expect(problems).toEqual([
      `${join(dir, "b.yaml")}: Backend default/b: spec.endpoints[0].ip.address: ${why("10.0.0.7")}`,
      `${join(dir, "w.yaml")}: Pod default/p: status.podIP: ${why("192.168.1.10")}`,
      `${join(dir, "w.yaml")}: EndpointSlice default/s-1: endpoints[0].addresses[1]: ${why("8.8.8.8")}`,
      `${join(dir, "w.yaml")}: EndpointSlice default/s-1: endpoints[1].addresses[0]: ${why("127.1.2.300")}`,
    ]);
  });
});

describe("materialized workloads", () => {
  const EPP = (args: string, volume = true) => `apiVersion: apps/v1
kind: Deployment
metadata: {name: llama-epp}
spec:
  selector: {matchLabels: {app: llama-epp}}
  template:
    metadata: {labels: {app: llama-epp}}
    spec:
      containers:
        - name: epp
          image: registry.k8s.io/gateway-api-inference-extension/epp:v1.0.1
          args: [${args}]
          ports: [{containerPort: 9002}]
${volume ? `          volumeMounts: [{name: cfg, mountPath: /config}]\n      volumes: [{name: cfg, configMap: {name: plugins}}]\n` : ""}`;

  test("an EPP whose pool does not exist, and whose config file is not mounted", () => {
    const { dir, problems } = problemsOf({
      "gw.yaml": GATEWAY,
      "e.yaml": EPP(`--pool-name, nope, --config-file, /config/x.yaml`, false),
    });
    const f = join(dir, "e.yaml");
    expect(problems).toEqual([
      `${f}: Deployment default/llama-epp: spec.template.spec.containers[0].args: --pool-name: InferencePool default/nope not found`,
      `${f}: Deployment default/llama-epp: spec.template.spec.containers[0].args: --config-file /config/x.yaml: no mounted ConfigMap or Secret provides this file`,
    ]);
  });

  test("a mounted ConfigMap that does not exist", () => {
    const { dir, problems } = problemsOf({
      "gw.yaml": GATEWAY,
      "p.yaml": pool("llama"),
      "e.yaml": EPP(`--pool-name, llama`),
    });
    expect(problems).toEqual([
      `${join(dir, "e.yaml")}: Deployment default/llama-epp: spec.template.spec.volumes[0].configMap.name: ConfigMap default/plugins not found`,
    ]);
  });

  test("a selector that does not match the template labels", () => {
    const { dir, problems } = problemsOf({
      "gw.yaml": GATEWAY,
      "d.yaml": `apiVersion: apps/v1
kind: Deployment
metadata: {name: d}
spec:
  selector: {matchLabels: {app: a}}
  template:
    metadata: {labels: {app: b}}
    spec: {containers: [{name: c, image: envoyproxy/ai-gateway-testupstream}]}
`,
    });
    expect(problems).toEqual([`${join(dir, "d.yaml")}: Deployment default/d: spec.selector.matchLabels: app=a does not match spec.template.metadata.labels`]);
  });
});

test("every problem is reported at once; malformed files stop loading before the build", () => {
  const files = {
    "gw.yaml": GATEWAY,
    "b.yaml": ipBackend("b", "10.1.1.1").replace("name: OpenAI", "name: Anthropic"),
    "p.yaml": pool("llama", { eppService: false }),
    "r.yaml": route("r", [
      ["m", "{name: missing}"],
      ["llama", POOL_REF],
    ]),
  };
  const { problems } = problemsOf(files);
  expect(problems).toHaveLength(4);
  expect(problems.join("\n")).toMatch(/Anthropic[\s\S]*10\.1\.1\.1[\s\S]*llama-epp not found[\s\S]*default\/missing not found/);
  const broken = problemsOf({ ...files, "x.yaml": "a: [", "y.yaml": "apiVersion: v1\nkind: Service\n" });
  expect(broken.problems).toEqual([
    `${join(broken.dir, "x.yaml")}:1: document 1: malformed YAML: Flow sequence in block collection must be sufficiently indented and end with a ] at line 1, column 5`,
    `${join(broken.dir, "y.yaml")}:1: document 1: Service: metadata: required`,
  ]);
});
