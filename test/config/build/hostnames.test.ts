// AIGatewayRoute hostnames at load: validated as Gateway API Hostnames, met with the listener's host name
// (a route left with none gets no requests), and carried to the filter for rules and for /v1/models.
import { describe, expect, test } from "vitest";
import { GATEWAY, ipBackend, loadFiles, problemsOf, route } from "../helpers.js";

const hosts = (list: string[]) => `  hostnames: ${JSON.stringify(list)}\n`;
/** route() with spec.hostnames inserted before its rules. */
const scoped = (name: string, list: string[], model: string) => route(name, [[model, "{name: a}"]]).replace("  rules:\n", `${hosts(list)}  rules:\n`);
const LISTENER = GATEWAY.replace("      port: 80\n", '      port: 80\n      hostname: "*.example.com"\n');

describe("AIGatewayRoute hostnames", () => {
  test("a malformed host name is refused with its field", () => {
    const { problems } = problemsOf({ "gw.yaml": GATEWAY, "b.yaml": ipBackend("a"), "r.yaml": scoped("r", ["Bad_Host"], "m") });
    expect(
      problems.some((p) => p.endsWith('AIGatewayRoute default/r: spec.hostnames[0]: "Bad_Host" is not a lower-case host name (a leading "*." is allowed)')),
    ).toBe(true);
  });

  test("met with the listener's host name; a route outside it is warned about and gets no rules", () => {
    const { cfg } = loadFiles({
      "gw.yaml": LISTENER,
      "b.yaml": ipBackend("a"),
      "r.yaml": `${scoped("in", ["api.example.com", "other.org"], "m-in")}---\n${scoped("out", ["other.org"], "m-out")}---\n${route("all", [["m-all", "{name: a}"]])}`,
    });
    expect(cfg.plugin.rules.map((r) => [r.route, r.hostnames])).toEqual([
      ["default/all", ["*.example.com"]],
      ["default/in", ["api.example.com"]],
    ]);
    expect(
      cfg.warnings.some((w) => w.includes("AIGatewayRoute default/out: spec.hostnames: no host name matches listener http's hostname *.example.com")),
    ).toBe(true);
    // The listener's own host name needs no :authority matcher (the virtual host has it); names end in the host.
    const routes = cfg.gateway.routes.virtualHosts[0]!.routes;
    const all = routes.find((r) => r.name.includes("/all/"))!;
    expect(all.name).toBe("aigatewayroute/default/all/rule/0/match/0/backend/default/a/host/*.example.com");
    expect(all.match.headers!.map((h) => h.name)).toEqual(["x-ai-eg-model", "x-ai-eg-backend"]);
    const scopedRoute = routes.find((r) => r.name.includes("/in/"))!;
    expect(scopedRoute.name.endsWith("/host/api.example.com")).toBe(true);
    expect(scopedRoute.match.headers![0]!.name).toBe(":authority");
    // Most specific first: the exact host name's route before the listener's wildcard.
    expect(routes.indexOf(scopedRoute)).toBeLessThan(routes.indexOf(all));
  });

  test("models: the declaring routes' hostnames, merged; a model any route without hostnames declares is for every host", () => {
    const { cfg } = loadFiles({
      "gw.yaml": GATEWAY,
      "b.yaml": ipBackend("a"),
      "r.yaml": [
        scoped("r1", ["a.test"], "shared"),
        scoped("r2", ["b.test", "a.test"], "shared"),
        scoped("r3", ["a.test"], "open"),
        route("r4", [["open", "{name: a}"]]),
      ].join("---\n"),
    });
    expect(cfg.plugin.models.map((m) => [m.id, m.hostnames])).toEqual([
      ["shared", ["a.test", "b.test"]],
      ["open", undefined],
    ]);
  });
});
