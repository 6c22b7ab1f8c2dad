// Debian's `prometheus` package (server and promtool) for the tests that check metrics with a real
// Prometheus. test/global-setup.ts installs it with apt-get when it is missing; a test that needs it and
// finds it missing is skipped with the reason, never passed silently.
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";

export const INSTALL_LOG = "test/.build/prometheus-install.log";

function which(tool: string): string | undefined {
  const r = spawnSync("sh", ["-c", `command -v ${tool}`], { encoding: "utf8" });
  const path = r.stdout.trim();
  return r.status === 0 && path !== "" ? path : undefined;
}

export interface PrometheusTools {
  prometheus: string;
  promtool: string;
}

/** The tools, or why they are missing (for the skip message). */
export function prometheusTools(): PrometheusTools | string {
  const prometheus = which("prometheus");
  const promtool = which("promtool");
  if (prometheus && promtool) return { prometheus, promtool };
  const log = existsSync(INSTALL_LOG) ? readFileSync(INSTALL_LOG, "utf8").trim().split("\n").slice(-3).join(" | ") : "";
  return `Debian's prometheus package is not installed and could not be installed${log ? ` (apt-get: ${log})` : ""}`;
}
