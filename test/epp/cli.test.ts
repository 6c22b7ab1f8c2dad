// `aigw epp` outside Kubernetes: the endpoints file and the CLI run end to end.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runEppCli, splitCliArgs } from "../../src-host/epp/cli.js";
import { FileDiscovery, parseEndpointsFile } from "../../src-host/epp/file-discovery.js";
import { ExtProcStream, bodyMsg, extProcClient, headerMap, headersMsg, startModelServers, until, vllmMetrics } from "./helpers.js";

const dir = mkdtempSync(join(tmpdir(), "epp-cli-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("endpoints file", () => {
  it("reads a plain list or an object with objectives", () => {
    const list = parseEndpointsFile("- name: a\n  address: 127.0.0.1:8000\n  labels: {app: x}\n- address: 127.0.0.2:8000\n  ready: false\n", "pool", "ns");
    expect(list.port).toBe(8000);
    expect(list.pods).toEqual([
      { name: "a", namespace: "ns", ip: "127.0.0.1", labels: { app: "x" }, ready: true },
      { name: "127.0.0.2:8000", namespace: "ns", ip: "127.0.0.2", labels: {}, ready: false },
    ]);
    const obj = parseEndpointsFile('{"endpoints":[{"address":"[::1]:9000"}],"objectives":[{"name":"batch","priority":-1}]}', "pool", "ns");
    expect(obj.pods[0].ip).toBe("::1");
    expect(obj.objectives).toEqual([{ name: "batch", priority: -1, poolName: "pool" }]);
  });

  it("rejects files an InferencePool could not describe", () => {
    const bad: [string, RegExp][] = [
      ["- address: 127.0.0.1:8000\n- address: 127.0.0.2:8001\n", /one target port/],
      ["- address: localhost:8000\n", /is not ip:port/],
      ["- address: 127.0.0.1\n", /is not ip:port/],
      ["- name: a\n  address: 127.0.0.1:1\n- name: a\n  address: 127.0.0.2:1\n", /duplicate endpoint name/],
      ["- address: 127.0.0.1:1\n  weight: 3\n", /unknown field "weight"/],
      ["[]", /lists no endpoints/],
      ["endpoints: [{address: '127.0.0.1:1'}]\nobjectives: [{priority: 1}]\n", /objectives\[0\].name/],
    ];
    for (const [text, err] of bad) expect(() => parseEndpointsFile(text, "p", "n"), text).toThrow(err);
  });

  it("notices edits and keeps the last good contents on a broken one", async () => {
    const file = join(dir, "watch.yaml");
    writeFileSync(file, "- address: 127.0.0.1:8000\n");
    const errors: string[] = [];
    const d = new FileDiscovery(file, "pool", "default", (e) => errors.push(e.message));
    let changes = 0;
    d.onChange(() => changes++);
    d.watch(20);
    try {
      expect(d.pool()).toEqual({ name: "pool", namespace: "default", selector: {}, targetPorts: [8000] });
      await new Promise((r) => setTimeout(r, 50));
      writeFileSync(file, "- address: 127.0.0.1:8000\n- address: 127.0.0.3:8000\n");
      await until(() => changes === 1, "reload");
      expect(d.pods().map((p) => p.ip)).toEqual(["127.0.0.1", "127.0.0.3"]);
      writeFileSync(file, "- address: nope\n");
      await until(() => errors.length > 0, "error report");
      expect(d.pods()).toHaveLength(2);
    } finally {
      d.close();
    }
  });
});

describe("aigw epp", () => {
  it("separates its own flags from the EPP's", () => {
    expect(splitCliArgs(["--pool-name", "p", "--endpoints-file", "f.yaml", "--bind-address=127.0.0.5", "--v=3"])).toEqual({
      own: { "endpoints-file": "f.yaml", "bind-address": "127.0.0.5" },
      epp: ["--pool-name", "p", "--v=3"],
    });
  });

  it("requires an endpoints file and valid flags", async () => {
    await expect(runEppCli(["--pool-name=p"])).rejects.toThrow(/needs --endpoints-file/);
    await expect(runEppCli(["--endpoints-file=x", "--bogus"])).rejects.toThrow(/flag provided but not defined: -bogus/);
    await expect(runEppCli(["--pool-name=p", "--endpoints-file", join(dir, "missing.yaml")])).rejects.toThrow(/cannot read endpoints file/);
  });

  it("serves a pool from the file until stopped", async () => {
    const servers = await startModelServers([vllmMetrics({ waiting: 5 }), vllmMetrics({ waiting: 0 })]);
    const file = join(dir, "pool.yaml");
    writeFileSync(file, servers.ips.map((ip, i) => `- name: vllm-${i}\n  address: ${ip}:${servers.port}\n`).join(""));
    const lines: string[] = [];
    const stop = new AbortController();
    const done = runEppCli(
      [
        "--pool-name",
        "pool",
        "--endpoints-file",
        file,
        "--grpc-port=0",
        "--grpc-health-port=0",
        "--metrics-port=0",
        "--secure-serving=false",
        "--zap-encoder=json",
        "--refresh-metrics-interval=20ms",
      ],
      { signal: stop.signal, log: (l) => lines.push(l) },
    );
    try {
      await until(() => lines.some((l) => l.includes("EPP serving")), "startup");
      const serving = JSON.parse(lines.find((l) => l.includes("EPP serving"))!) as { grpc: string; level: string; logger: string };
      expect(serving).toMatchObject({ level: "info", logger: "setup" });
      await until(() => servers.scrapes(0) > 1 && servers.scrapes(1) > 1, "scrapes");
      const client = extProcClient(serving.grpc);
      const s = new ExtProcStream(client).send(headersMsg({ ":path": "/v1/completions" }), bodyMsg('{"model":"m","prompt":"p"}', true));
      const h = headerMap((await s.next()).request_headers!.response.header_mutation!.set_headers);
      expect(h.get("x-gateway-destination-endpoint")).toBe(`${servers.ips[1]}:${servers.port}`);
      s.end();
      client.close();
    } finally {
      stop.abort();
      await done;
      await servers.close();
    }
  });
});
