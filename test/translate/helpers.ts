// Shared by the translate tests: the seed example's bootstrap as a plain object, copies of the seed example
// with extra manifests, and golden-file comparison.
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect } from "vitest";
import { parse } from "yaml";
import { DEFAULT_INPUT, translate } from "../../src-host/translate/translate.js";

export const GOLDEN = join(import.meta.dirname, "golden");

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

export function tempDir(prefix = "aigw-translate-"): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}

/** The seed example plus `files` (name → YAML; a seed file of the same name is replaced). */
export function seedWith(files: Record<string, string>): string {
  const dir = tempDir("aigw-manifests-");
  cpSync(DEFAULT_INPUT, dir, { recursive: true });
  rmSync(join(dir, "README.md"));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

/** A fresh parse of the seed example's bootstrap (tests mutate it). */
export function seedBootstrap(docker = false): Record<string, any> {
  return parse(translate({ docker, outDir: tempDir() }).files[0]!.content);
}

/** Compares with test/translate/golden/<name>; AIGW_UPDATE_GOLDEN=1 rewrites it (then review the diff). */
export function expectGolden(name: string, content: string): void {
  const path = join(GOLDEN, name);
  if (process.env.AIGW_UPDATE_GOLDEN === "1") writeFileSync(path, content);
  expect(existsSync(path), `${path} is missing: AIGW_UPDATE_GOLDEN=1 writes it (then review it)`).toBe(true);
  expect(content, `${path} differs from the output; if the change is intended, AIGW_UPDATE_GOLDEN=1 and review`).toBe(readFileSync(path, "utf8"));
}

/** Every cluster of a bootstrap, by name. */
export function clustersOf(bootstrap: Record<string, any>): Map<string, Record<string, any>> {
  return new Map(bootstrap.static_resources.clusters.map((c: Record<string, any>) => [c.name, c]));
}

/** The HTTP connection manager of the first listener. */
export function hcmOf(bootstrap: Record<string, any>): Record<string, any> {
  return bootstrap.static_resources.listeners[0].filter_chains[0].filters[0].typed_config;
}

/** The retry_policy of a route to an InferencePool: a connect failure once more, on a host not tried. */
export const POOL_RETRY_POLICY_XDS = {
  retry_on: "connect-failure",
  num_retries: 1,
  retry_host_predicate: [
    {
      name: "envoy.retry_host_predicates.previous_hosts",
      typed_config: { "@type": "type.googleapis.com/envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate" },
    },
  ],
  host_selection_retry_max_attempts: 5,
};
