// The route matchers Gateway API HTTPRoutes need, as Envoy evaluates them: path_separated_prefix (whole
// segments), safe_regex on the path (full match, query ignored), :method as a header, and
// cluster_not_found_response_code for the weighted share of invalid backends.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cluster, config, echoed, echoUpstream, gateway, request, route, type Upstream } from "./helpers.js";

let a: Upstream, b: Upstream;

beforeAll(async () => {
  [a, b] = await Promise.all([echoUpstream("a"), echoUpstream("b")]);
});
afterAll(async () => {
  await Promise.all([a.close(), b.close()]);
});

describe("path and method matchers", () => {
  let gw: Awaited<ReturnType<typeof gateway>>;
  beforeAll(async () => {
    gw = await gateway(
      config(
        [
          route("post-only", "b", { pathSeparatedPrefix: "/pool", headers: [{ name: ":method", exact: "POST" }] }),
          route("segments", "a", { pathSeparatedPrefix: "/pool" }),
          route("regex", "b", { safeRegex: "/v[0-9]+/items/[a-z]+" }),
        ],
        [cluster("a", [a]), cluster("b", [b])],
      ),
    );
  });
  afterAll(() => gw.close());

  const via = async (path: string, method = "GET") => {
    const r = await request(gw.listenerAddress.port, path, { method });
    return r.status === 200 ? echoed(r).upstream : `status ${r.status}`;
  };

  it("pathSeparatedPrefix matches the prefix and whatever follows a '/', not a longer segment", async () => {
    expect(await via("/pool")).toBe("a");
    expect(await via("/pool/")).toBe("a");
    expect(await via("/pool/x/y?q=1")).toBe("a");
    expect(await via("/pool?q=1")).toBe("a");
    expect(await via("/poolside")).toBe("status 404");
  });

  it("safeRegex fully matches the path without its query", async () => {
    expect(await via("/v2/items/abc?page=2")).toBe("b");
    expect(await via("/v2/items/abc/more")).toBe("status 404");
    expect(await via("/x/v2/items/abc")).toBe("status 404");
  });

  it(":method is matched like any header", async () => {
    expect(await via("/pool/x", "POST")).toBe("b");
    expect(await via("/pool/x", "PUT")).toBe("a");
  });

  it("refuses two path matchers on one route, and a separated prefix that ends with '/'", async () => {
    await expect(gateway(config([route("two", "a", { prefix: "/", safeRegex: "/.*" })], [cluster("a", [a])]))).rejects.toThrow(
      /exactly one of prefix, path, pathSeparatedPrefix and safeRegex/,
    );
    await expect(gateway(config([route("slash", "a", { pathSeparatedPrefix: "/x/" })], [cluster("a", [a])]))).rejects.toThrow(/must not end with "\/"/);
  });
});

describe("clusterNotFoundStatus", () => {
  it("answers its status for a missing cluster, and does not warn about it at start", async () => {
    const gw = await gateway(
      config(
        [{ name: "half-invalid", match: { prefix: "/" }, action: { weightedClusters: [{ name: "ghost", weight: 1 }] }, clusterNotFoundStatus: 500 }],
        [cluster("a", [a])],
      ),
    );
    try {
      const r = await request(gw.listenerAddress.port, "/");
      expect(r.status).toBe(500);
      expect(gw.logs.join("\n")).not.toContain("ghost");
    } finally {
      await gw.close();
    }
  });
});
