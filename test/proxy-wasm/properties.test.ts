// Properties as Envoy serializes them (strings raw, integers 8 bytes LE, maps as pairs, metadata as a
// protobuf message), filter state from proxy_set_property, and the foreign functions.
import { afterEach, describe, expect, it } from "vitest";
import { decodePairs } from "../../src-host/proxy-wasm/index.js";
import { type Loaded, TestSink, bytes, loadFixture, openStream, reqHeaders } from "./helpers.js";

let loaded: Loaded | undefined;
afterEach(async () => {
  await loaded?.filter.close();
  loaded = undefined;
});

const hexOf = (s: string) => Buffer.from(s).toString("hex");
const i64 = (n: number) => {
  const b = Buffer.alloc(8);
  b.writeBigInt64LE(BigInt(n));
  return b.toString("hex");
};

async function run(configuration: string, sink = new TestSink({ name: "r1", cluster: "backend", metadata: { "ai.gw": { model: "m1", weight: 2 } } })) {
  const l = (loaded = await loadFixture(
    "host-props",
    { configuration, name: "my-plugin", rootId: "my-root" },
    {
      clusters: [{ name: "backend", type: "STATIC", endpoints: [], connectTimeoutMs: 100, metadata: { pool: { size: 3 } } }],
    },
  ));
  const { stream } = openStream(l.filter, sink);
  stream.requestHeaders(
    reqHeaders(
      [
        ["x-a", "1"],
        ["x-a", "2"],
        ["x-request-id", "rid-7"],
      ],
      "/v1/x?q=1",
    ),
    false,
  );
  stream.requestData(bytes("body"), true);
  sink.info.responseCode = 201;
  sink.info.responseCodeDetails = "via_upstream";
  stream.responseHeaders(
    [
      [":status", "201"],
      ["content-type", "application/json"],
    ],
    true,
  );
  stream.complete();
  const values = new Map<string, string>();
  for (const m of l.messages()) {
    const [phase, path, code, hex] = m.split(" ");
    if (path) values.set(`${phase} ${path}`, hex === undefined ? `<${code}>` : hex);
  }
  return { l, sink, values };
}

describe("request and connection attributes", () => {
  it("encodes strings raw and integers as 8-byte little endian", async () => {
    const { values } = await run(
      "rh=request/path,request/url_path,request/query,request/method,request/host,request/scheme,request/id,request/protocol,source/address,source/port,destination/port",
    );
    expect(values.get("rh request/path")).toBe(hexOf("/v1/x?q=1"));
    expect(values.get("rh request/url_path")).toBe(hexOf("/v1/x"));
    expect(values.get("rh request/query")).toBe(hexOf("q=1"));
    expect(values.get("rh request/method")).toBe(hexOf("POST"));
    expect(values.get("rh request/host")).toBe(hexOf("gw.local"));
    expect(values.get("rh request/scheme")).toBe(hexOf("http"));
    expect(values.get("rh request/id")).toBe(hexOf("rid-7"));
    expect(values.get("rh request/protocol")).toBe(hexOf("HTTP/1.1"));
    expect(values.get("rh source/address")).toBe(hexOf("127.0.0.7:40000"));
    expect(values.get("rh source/port")).toBe(i64(40000));
    expect(values.get("rh destination/port")).toBe(i64(10000));
  });

  it("serializes request.headers as pairs, joining repeated values with commas; indexes into it", async () => {
    const { values } = await run("rh=request/headers,request/headers/x-a,request/headers/X-A");
    const pairs = decodePairs(Buffer.from(values.get("rh request/headers")!, "hex")).map(([k, v]) => [Buffer.from(k).toString(), Buffer.from(v).toString()]);
    expect(pairs).toContainEqual(["x-a", "1,2"]);
    expect(pairs).toContainEqual([":path", "/v1/x?q=1"]);
    expect(values.get("rh request/headers/x-a")).toBe(hexOf("1,2"));
    expect(values.get("rh request/headers/X-A")).toBe(hexOf("1,2"));
  });

  it("header-derived request attributes disappear once the headers continued, and come back in on_log", async () => {
    const { values } = await run(
      "rb=request/path,request/time log=request/path,request/size,response/code,response/code_details,response/headers/content-type",
    );
    expect(values.get("rb request/path")).toBe("<1>");
    expect(values.get("rb request/time")).toHaveLength(16);
    expect(values.get("log request/path")).toBe(hexOf("/v1/x?q=1"));
    expect(values.get("log response/code")).toBe(i64(201));
    expect(values.get("log response/code_details")).toBe(hexOf("via_upstream"));
    expect(values.get("log response/headers/content-type")).toBe(hexOf("application/json"));
  });

  it("answers NotFound for unknown attributes and paths that go nowhere", async () => {
    const { values } = await run("rh=nope,request/nope,request/path/deeper,upstream/address");
    expect([...values.values()]).toEqual(["<1>", "<1>", "<1>", "<1>"]);
  });
});

describe("plugin and xds attributes", () => {
  it("exposes plugin_name, plugin_root_id and plugin_vm_id, also on the root context", async () => {
    const { values, l } = await run("cfg=plugin_name,plugin_root_id rh=plugin_vm_id");
    expect(values.get("cfg plugin_name")).toBe(hexOf("my-plugin"));
    expect(values.get("cfg plugin_root_id")).toBe(hexOf("my-root"));
    expect(values.get("rh plugin_vm_id")).toBe(hexOf(l.filter.env.config.vmId));
  });

  it("exposes the route and cluster names, and route/cluster metadata as protobuf and as CEL maps", async () => {
    const { values } = await run(
      "rh=xds/route_name,xds/cluster_name,xds/route_metadata,xds/route_metadata/filter_metadata/ai.gw/model,xds/route_metadata/filter_metadata/ai.gw/weight,xds/cluster_metadata/filter_metadata/pool/size",
    );
    expect(values.get("rh xds/route_name")).toBe(hexOf("r1"));
    expect(values.get("rh xds/cluster_name")).toBe(hexOf("backend"));
    // Metadata{filter_metadata{"ai.gw": Struct{model: "m1", weight: 2}}}
    const meta = values.get("rh xds/route_metadata")!;
    expect(meta.startsWith("0a")).toBe(true);
    expect(meta).toContain(hexOf("ai.gw"));
    expect(meta).toContain("1a02" + hexOf("m1")); // Value.string_value
    expect(values.get("rh xds/route_metadata/filter_metadata/ai.gw/model")).toBe(hexOf("m1"));
    const dbl = Buffer.alloc(8);
    dbl.writeDoubleLE(2);
    expect(values.get("rh xds/route_metadata/filter_metadata/ai.gw/weight")).toBe(dbl.toString("hex"));
    dbl.writeDoubleLE(3);
    expect(values.get("rh xds/cluster_metadata/filter_metadata/pool/size")).toBe(dbl.toString("hex"));
  });
});

describe("set_property and filter state", () => {
  it("writes filter state wasm.<path>, readable back by name and through filter_state", async () => {
    const { values, sink, l } = await run("set=model:gpt-x rh=model,filter_state/wasm.model");
    expect(l.messages()).toContain("set 0");
    expect(Buffer.from(sink.info.filterState.get("wasm.model")!).toString()).toBe("gpt-x");
    expect(values.get("rh model")).toBe(hexOf("gpt-x"));
    expect(values.get("rh filter_state/wasm.model")).toBe(hexOf("gpt-x"));
  });
});

describe("foreign functions", () => {
  it("clear_route_cache clears the data plane's route cache", async () => {
    const { sink, l } = await run("ff=clear_route_cache");
    expect(l.messages()).toContain("ff 0");
    expect(sink.of("clearRouteCache")).toHaveLength(1);
  });

  it("set_envoy_filter_state stores the value under its path", async () => {
    // SetEnvoyFilterStateArguments{path: "envoy.tcp_proxy.cluster", value: "c1"}: 0a 17 <path> 12 02 c1
    const args = "\x0a\x17envoy.tcp_proxy.cluster\x12\x02c1";
    expect(args.includes(" ")).toBe(false);
    const { sink, l } = await run(`ff=set_envoy_filter_state ffargs=${args}`);
    expect(l.messages()).toContain("ff 0");
    expect(Buffer.from(sink.info.filterState.get("envoy.tcp_proxy.cluster")!).toString()).toBe("c1");
  });

  it("an unknown foreign function is NotFound", async () => {
    const { l } = await run("ff=no_such_function");
    expect(l.messages()).toContain("ff 1");
  });
});
