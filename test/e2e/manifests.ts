// Shared pieces of the end-to-end tests' manifests: the Gateway every AIGatewayRoute attaches to, and
// `aigw run` on manifests written to a temporary directory.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runGateway, type RunOptions, type RunningGateway } from "../../src-host/cli/run.js";

/** GatewayClass and Gateway "eg" with one HTTP listener; routes attach with parentRefs [{ name: eg }]. */
export const GATEWAY = `
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: { name: eg }
spec: { controllerName: gateway.envoyproxy.io/gatewayclass-controller }
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: { name: eg }
spec:
  gatewayClassName: eg
  listeners: [{ name: http, protocol: HTTP, port: 80 }]
`;

/** Writes `files` (name → YAML) to a new directory and serves them on ephemeral ports. */
export function runManifests(files: Record<string, string>, opts: Partial<RunOptions> = {}): Promise<RunningGateway> {
  const dir = mkdtempSync(join(tmpdir(), "aigw-e2e-"));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return runGateway({ paths: [dir], port: 0, adminPort: 0, log: () => {}, ...opts });
}
