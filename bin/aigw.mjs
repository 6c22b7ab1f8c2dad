#!/usr/bin/env node
// The `aigw` command of a clone (package.json "bin": `npx aigw …` in the repository, or on the PATH after
// `npm link`). It builds what the clone lacks with make (the CLI and build/ai-gateway.wasm; a fresh clone
// takes a few minutes), then runs the compiled CLI. Build output goes to stderr so that stdout stays the
// command's own (`aigw translate > envoy.yaml`).
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const cli = join(root, "build/host/src-host/cli/aigw.js");
// The files behind `make build` (its phony name would always count as out of date for make -q).
const TARGETS = ["build/ai-gateway.wasm", "build/host/.stamp"];

const upToDate = spawnSync("make", ["-q", "-C", root, ...TARGETS], { stdio: "ignore" });
if (upToDate.error) {
  // No make: run what is built, or say what is missing.
  if (!existsSync(cli)) fail(`${cli} is not built and make is not installed: install make, then run make in ${root}`);
} else if (upToDate.status !== 0) {
  process.stderr.write(`aigw: building with make in ${root} (a fresh clone takes a few minutes)…\n`);
  const built = spawnSync("make", ["--no-print-directory", "-C", root, ...TARGETS], { stdio: ["ignore", 2, 2] });
  if (built.status !== 0) fail(`make build failed (exit ${built.status ?? built.signal}); see the output above`);
}
await import(pathToFileURL(cli).href);

function fail(message) {
  process.stderr.write(`aigw: ${message}\n`);
  process.exit(1);
}
