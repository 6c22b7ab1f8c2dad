// Builds what the tests load (the production module and the AssemblyScript test modules) once per run,
// so no test depends on a checked-in binary.
import { execFileSync } from "node:child_process";

export default function setup(): void {
  execFileSync("make", ["--no-print-directory", "wasm", "test-modules"], { stdio: "inherit" });
}
