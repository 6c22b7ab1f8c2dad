// The admin listener, with the Envoy admin endpoints a local operator and the tests need:
// /ready (200 LIVE once serving, 503 before), /health (the same as 200 OK, for `aigw healthcheck` as in
// Envoy AI Gateway's aigw), /stats/prometheus (alias /metrics), /stats and /config_dump.
import http from "node:http";
import type { AddressInfo } from "node:net";
import type { SocketAddress } from "../dataplane-api/http-filter.js";

export interface AdminSource {
  /** Undefined when ready, else the state Envoy would report (e.g. "INITIALIZING"). */
  notReady(): string | undefined;
  prometheus(): string;
  statsText(): string;
  configDump(): unknown;
}

export interface AdminServer {
  address: SocketAddress;
  close(): Promise<void>;
}

const HELP = `admin commands are:
  /config_dump: the effective data plane configuration as JSON
  /health: OK (200) once serving, else the state (503)
  /metrics: Prometheus text (same as /stats/prometheus)
  /ready: LIVE (200) once serving, else the state (503)
  /stats: counters and gauges, one "name: value" per line
  /stats/prometheus: Prometheus text
`;

export async function startAdmin(address: SocketAddress, source: AdminSource): Promise<AdminServer> {
  const server = http.createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    const send = (status: number, type: string, body: string) => {
      res.writeHead(status, { "content-type": type, "content-length": Buffer.byteLength(body) });
      res.end(body);
    };
    if (req.method !== "GET" && req.method !== "HEAD") return send(405, "text/plain", "method not allowed\n");
    switch (path) {
      case "/ready":
      case "/health": {
        const state = source.notReady();
        return state ? send(503, "text/plain", `${state}\n`) : send(200, "text/plain", path === "/ready" ? "LIVE\n" : "OK\n");
      }
      case "/metrics":
      case "/stats/prometheus":
        return send(200, "text/plain; version=0.0.4; charset=utf-8", source.prometheus());
      case "/stats":
        return send(200, "text/plain; charset=utf-8", source.statsText());
      case "/config_dump":
        return send(200, "application/json", `${JSON.stringify(source.configDump(), null, 2)}\n`);
      case "/":
      case "/help":
        return send(200, "text/plain", HELP);
      default:
        return send(404, "text/plain", `invalid path ${path}\n${HELP}`);
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(address.port, address.address, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const a = server.address() as AddressInfo;
  return {
    address: { address: a.address, port: a.port },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
