// Builds what the tests load — the AssemblyScript test modules, the production module and the compiled CLI
// (tests run `aigw` as a process) — once per run, so no test depends on a checked-in binary. `make test`
// builds them strictly before vitest starts; here a
// failed build is reported and the tests that need the missing module fail on their own.
import { spawnSync } from "node:child_process";

export default function setup(): void {
  const r = spawnSync("make", ["--no-print-directory", "-k", "test-modules", "wasm", "host"], { stdio: "inherit" });
  if (r.status !== 0) console.error("global-setup: some modules failed to build (see above)");
}
