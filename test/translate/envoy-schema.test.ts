// The checker that stands in for Envoy's own config loading: the seed example's bootstraps pass, and every
// class of mistake it exists for is caught, each at the right place.
import { describe, expect, test } from "vitest";
import { checkBootstrap, checkMessage, envoySchema } from "../../src-host/translate/envoy-schema.js";
import { clustersOf, hcmOf, seedBootstrap } from "./helpers.js";

type Doc = Record<string, any>;

/** The problems of the seed bootstrap after `mutate`. */
function problemsAfter(mutate: (doc: Doc) => void): string[] {
  const doc = seedBootstrap();
  mutate(doc);
  return checkBootstrap(doc);
}

const wasmConfig = (doc: Doc): Doc => hcmOf(doc).http_filters[0].typed_config.config;
const firstRoute = (doc: Doc): Doc => hcmOf(doc).route_config.virtual_hosts[0].routes[0];
const cluster = (doc: Doc, name: string): Doc => clustersOf(doc).get(name)!;

describe("the schema", () => {
  test("loads Envoy's v3 protos with the newer declarations, skipping only files whose imports are missing", () => {
    const { root, skipped } = envoySchema();
    expect(root.lookupType("envoy.config.bootstrap.v3.Bootstrap").fields.static_resources).toBeDefined();
    const plugin = root.lookupType("envoy.extensions.wasm.v3.PluginConfig").fields.allow_on_headers_stop_iteration!;
    expect([plugin.id, plugin.type]).toEqual([9, "google.protobuf.BoolValue"]);
    const oh = root.lookupType("envoy.extensions.load_balancing_policies.override_host.v3.OverrideHost");
    expect(Object.values(oh.fields).map((f) => [f.name, f.id])).toEqual([
      ["override_host_sources", 1],
      ["selected_host_key", 2],
      ["fallback_policy", 3],
    ]);
    // Tracing and metrics-service protos import opencensus/opentelemetry protos the package does not ship.
    expect(skipped.every((f) => /trace|metrics_service|open_telemetry/.test(f))).toBe(true);
  });
});

describe("the seed example's bootstraps", () => {
  test("plain and Docker variants have no problems", () => {
    expect(checkBootstrap(seedBootstrap())).toEqual([]);
    expect(checkBootstrap(seedBootstrap(true))).toEqual([]);
  });
});

describe("caught mistakes", () => {
  test("unknown fields, at any depth and inside an Any", () => {
    expect(problemsAfter((d) => (cluster(d, "epp/default/mistral").conect_timeout = "1s"))).toEqual([
      "static_resources.clusters[1].conect_timeout: unknown field of envoy.config.cluster.v3.Cluster",
    ]);
    const inAny = problemsAfter((d) => (hcmOf(d).http_filters[1].typed_config.suppress_envoy_header = true));
    expect(inAny).toHaveLength(1);
    expect(inAny[0]).toMatch(
      /http_filters\[1\]\.typed_config\(Router\)\.suppress_envoy_header: unknown field of envoy\.extensions\.filters\.http\.router\.v3\.Router$/,
    );
  });

  test("a field given by both its proto name and its JSON name", () => {
    const p = problemsAfter((d) => (cluster(d, "epp/default/mistral").connectTimeout = "1s"));
    expect(p).toEqual(['static_resources.clusters[1].connectTimeout: field connect_timeout is also given as "connect_timeout"']);
  });

  test("wrong types: string, bool, number, message, list, map, enum, wrapper", () => {
    const cases: Array<[(d: Doc) => void, RegExp]> = [
      [(d) => (hcmOf(d).stat_prefix = 5), /stat_prefix: expected a string, got 5/],
      [(d) => (d.admin.address.socket_address.port_value = true), /port_value: expected an integer \(uint32\), got true/],
      [(d) => (d.admin.address.socket_address.port_value = 70000), /port_value: 70000 violates lte 65535/],
      [(d) => (d.admin.address.socket_address.port_value = -1), /port_value: -1 is out of range for uint32/],
      [(d) => (wasmConfig(d).root_id = { name: "x" }), /root_id: expected a string/],
      [(d) => (firstRoute(d).route = "cluster-a"), /routes\[0\]\.route: expected a RouteAction message \(a map\)/],
      [(d) => (hcmOf(d).route_config.virtual_hosts[0].domains = "*"), /domains: expected a list, got "\*"/],
      [(d) => (cluster(d, "epp/default/mistral").typed_extension_protocol_options = []), /typed_extension_protocol_options: expected a map/],
      [(d) => (cluster(d, "epp/default/mistral").lb_policy = "BEST_REQUEST"), /lb_policy: "BEST_REQUEST" is not a value of enum LbPolicy/],
      [(d) => (wasmConfig(d).allow_on_headers_stop_iteration = "true"), /allow_on_headers_stop_iteration: expected true or false, got "true"/],
      [(d) => (d.static_resources.listeners[0].per_connection_buffer_limit_bytes = 1.5), /per_connection_buffer_limit_bytes: expected an integer/],
      [(d) => (firstRoute(d).metadata = { filter_metadata: { aigw: "x" } }), /filter_metadata\["aigw"\]: expected a map \(Struct\)/],
      [(d) => (firstRoute(d).route.timeout = null), /timeout: null/],
    ];
    for (const [mutate, expected] of cases) {
      const p = problemsAfter(mutate);
      expect(p, String(expected)).toHaveLength(1);
      expect(p[0]).toMatch(expected);
    }
  });

  test("malformed durations", () => {
    for (const bad of ["10", "10ms", "1m", 10, "1.0000000001s", "s"]) {
      const p = problemsAfter((d) => (cluster(d, "epp/default/mistral").connect_timeout = bad));
      expect(p, String(bad)).toEqual([expect.stringMatching(/^static_resources\.clusters\[1\]\.connect_timeout: expected a Duration/)]);
    }
    for (const good of ["10s", "0.250s", "-1.5s", "0s"]) {
      expect(problemsAfter((d) => (cluster(d, "epp/default/mistral").connect_timeout = good))).toEqual([]);
    }
  });

  test("an unresolvable @type, and an Any whose body does not fit the type it names", () => {
    const typo = problemsAfter((d) => (hcmOf(d).http_filters[1].typed_config["@type"] = "type.googleapis.com/envoy.extensions.filters.http.router.v3.Routr"));
    expect(typo).toEqual([
      expect.stringMatching(
        /http_filters\[1\]\.typed_config\.@type: "type\.googleapis\.com\/envoy\.extensions\.filters\.http\.router\.v3\.Routr" names no message type/,
      ),
    ]);
    const noType = problemsAfter((d) => delete hcmOf(d).http_filters[1].typed_config["@type"]);
    expect(noType).toEqual([expect.stringMatching(/typed_config: an Any needs "@type"/)]);
    // The wasm filter's typed_config named as the router: its `config` is then an unknown field.
    const wrong = problemsAfter((d) => (hcmOf(d).http_filters[0].typed_config["@type"] = "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"));
    expect(wrong).toEqual([expect.stringMatching(/typed_config\(Router\)\.config: unknown field/)]);
    const wrapped = problemsAfter((d) => (wasmConfig(d).configuration.value = { rules: [] }));
    expect(wrapped).toEqual([expect.stringMatching(/configuration\(StringValue\)\.value: expected a string/)]);
  });

  test("clusters named by a route or by the plugin configuration must exist", () => {
    const route = problemsAfter((d) => (firstRoute(d).route.cluster = "inferencepool/default/missing"));
    expect(route).toEqual([expect.stringMatching(/routes\[0\]\.route\.cluster: no cluster named "inferencepool\/default\/missing"/)]);
    const epp = problemsAfter((d) => {
      const config = wasmConfig(d).configuration;
      config.value = config.value.replace('"eppCluster":"epp/default/mistral"', '"eppCluster":"epp/default/gone"');
    });
    expect(epp).toEqual([expect.stringMatching(/configuration\.value: pools\[0\]\.eppCluster: no cluster named "epp\/default\/gone"/)]);
    const removed = problemsAfter((d) => {
      d.static_resources.clusters = d.static_resources.clusters.filter((c: Doc) => c.name !== "epp/default/vllm-llama3-8b-instruct");
    });
    expect(removed).toEqual([expect.stringMatching(/pools\[1\]\.eppCluster: no cluster named "epp\/default\/vllm-llama3-8b-instruct"/)]);
    const twice = problemsAfter((d) => d.static_resources.clusters.push({ ...d.static_resources.clusters[0] }));
    expect(twice).toEqual([
      expect.stringMatching(/clusters\[5\]\.name: cluster "aiservicebackend\/default\/envoy-ai-gateway-basic-testupstream" is defined twice/),
    ]);
  });

  test("two members of one oneof", () => {
    const p = problemsAfter((d) => (firstRoute(d).direct_response = { status: 404 }));
    expect(p).toEqual([expect.stringMatching(/routes\[0\]: route and direct_response are members of oneof action/)]);
    const matcher = problemsAfter((d) => (firstRoute(d).match.headers[0].present_match = true));
    expect(matcher).toEqual([expect.stringMatching(/headers\[0\]: present_match and string_match are members of oneof header_match_specifier/)]);
  });

  test("deprecated fields and protoc-gen-validate rules", () => {
    const deprecated = problemsAfter((d) => {
      const h = firstRoute(d).match.headers[0];
      h.exact_match = h.string_match.exact;
      delete h.string_match;
    });
    expect(deprecated).toEqual([expect.stringMatching(/headers\[0\]\.exact_match: deprecated field of envoy\.config\.route\.v3\.HeaderMatcher/)]);
    expect(problemsAfter((d) => delete hcmOf(d).stat_prefix)).toEqual([expect.stringMatching(/stat_prefix: required \(at least 1 character/)]);
    expect(problemsAfter((d) => delete hcmOf(d).route_config)).toEqual([expect.stringMatching(/one of rds, route_config, scoped_routes is required/)]);
    const status = problemsAfter((d) => (hcmOf(d).route_config.virtual_hosts[0].routes[3].direct_response.status = 700));
    expect(status).toEqual([expect.stringMatching(/direct_response\.status: 700 violates lt 600/)]);
    const sources = problemsAfter((d) => {
      const oh = cluster(d, "inferencepool/default/mistral").load_balancing_policy.policies[0].typed_extension_config.typed_config;
      oh.override_host_sources = [];
      delete oh.fallback_policy;
    });
    expect(sources).toEqual([expect.stringMatching(/override_host_sources: needs at least 1 item/), expect.stringMatching(/fallback_policy: required$/)]);
  });

  test("checkMessage checks any message type", () => {
    expect(checkMessage("envoy.config.cluster.v3.Cluster", { name: "c", connect_timeout: "1s", type: "STRICT_DNS" })).toEqual([]);
    expect(checkMessage("envoy.config.cluster.v3.Cluster", { name: "c", type: "STRICT_DNS", cluster_type: { name: "x" } }, "c")).toEqual([
      "c: type and cluster_type are members of oneof cluster_discovery_type; at most one may be set",
    ]);
  });
});
