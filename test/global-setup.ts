// Builds what the tests load — the AssemblyScript test modules, the production module and the compiled CLI
// (tests run `aigw` as a process) — once per run, so no test depends on a checked-in binary. `make test`
// builds them strictly before vitest starts; here a failed build is reported and the tests that need the
// missing module fail on their own.
// It also installs Debian's `prometheus` (server and promtool) when it is missing and apt-get may be used
// (root); inside a network namespace that fails, and the tests that need it say so when they skip.
import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { INSTALL_LOG, prometheusTools } from "./stats/prometheus-tools.js";

function installPrometheus(): void {
  if (typeof prometheusTools() !== "string") return;
  mkdirSync("test/.build", { recursive: true });
  if (process.getuid?.() !== 0) {
    writeFileSync(INSTALL_LOG, "not root: run `apt-get install prometheus` as root\n");
    return;
  }
  const r = spawnSync("sh", ["-c", "apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends prometheus"], {
    encoding: "utf8",
    timeout: 300_000,
  });
  writeFileSync(INSTALL_LOG, `${r.stdout ?? ""}${r.stderr ?? ""}exit ${r.status ?? r.signal}\n`);
  if (r.status !== 0) console.error(`global-setup: apt-get install prometheus failed (${INSTALL_LOG})`);
}

export default function setup(): void {
  const r = spawnSync("make", ["--no-print-directory", "-k", "test-modules", "wasm", "host"], { stdio: "inherit" });
  if (r.status !== 0) console.error("global-setup: some modules failed to build (see above)");
  installPrometheus();
}
