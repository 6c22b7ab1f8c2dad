// `aigw healthcheck`: a Docker HEALTHCHECK for `aigw run`, as Envoy AI Gateway's `aigw healthcheck`
// (cmd/aigw/healthcheck.go at v1.1.0) is one for its Envoy: asks the admin listener's /health, gives up
// after a second, and exits 0 only on 200.
import http from "node:http";
import { DEFAULT_ADMIN_PORT } from "../config/build/build-gateway.js";
import { isLoopbackIPv4 } from "../config/model/loopback.js";
import { intFlag, parseFlags, UsageError, type CommandIo } from "./usage.js";

export const HEALTHCHECK_USAGE = `usage: aigw healthcheck [--admin-port ${DEFAULT_ADMIN_PORT}] [--admin-address 127.0.0.1]
Asks the admin endpoint /health of an aigw run on this machine; exits 0 when it answers 200 within a
second, 1 otherwise (a Docker HEALTHCHECK).
  --admin-port N          the aigw run's --admin-port (default ${DEFAULT_ADMIN_PORT})
  --admin-address ADDR    its loopback address (default 127.0.0.1)
  -h, --help              this text`;

const TIMEOUT_MS = 1000;

export async function runHealthcheckCli(argv: string[], io: CommandIo): Promise<void> {
  const { values, positionals, help } = parseFlags(argv, { "admin-port": { type: "string" }, "admin-address": { type: "string" } }, false);
  if (help) return io.stdout(`${HEALTHCHECK_USAGE}\n`);
  if (positionals.length) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  const port = intFlag("admin-port", values["admin-port"], 1, 65535) ?? DEFAULT_ADMIN_PORT;
  const address = (values["admin-address"] as string | undefined) ?? "127.0.0.1";
  if (!isLoopbackIPv4(address)) throw new UsageError(`--admin-address must be an IPv4 loopback address, got "${address}"`);
  const url = `http://${address}:${port}/health`;
  const { status, body } = await get(url).catch((err: NodeJS.ErrnoException) => {
    throw new Error(`${url}: ${err.code ?? err.message} (is aigw run serving with --admin-port ${port}?)`);
  });
  if (status !== 200) throw new Error(`${url} answered ${status}${body ? `: ${body}` : ""}`);
  io.stdout(`${body || "OK"}\n`);
}

/** One GET on a connection of its own, abandoned after TIMEOUT_MS. */
function get(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent: false, timeout: TIMEOUT_MS }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (body += chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: body.trim() }));
      res.on("error", reject);
    });
    req.on("timeout", () => req.destroy(new Error(`no answer within ${TIMEOUT_MS} ms`)));
    req.on("error", reject);
  });
}
