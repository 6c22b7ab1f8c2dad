// Biome's lint of assembly/ (its import boundaries, biome.jsonc: the SDK layer imports nothing of the gateway,
// the gateway's logic nothing of the SDK layer, only its glue does) and the AssemblyScript standard library
// calls it refuses (.ci/biome/assemblyscript-std.grit), read from Biome's JSON report.
// AssemblyScript's decorators on functions (`@inline`, `@external`) are not TypeScript: Biome reports each as a
// parse error yet still checks the file's imports, so those parse errors are the only diagnostics allowed.
// Biome is pinned in package.json: its JSON reporter may change in patch releases.
import { execFileSync } from "node:child_process";

let out;
try {
  out = execFileSync("node_modules/.bin/biome", ["lint", "--reporter=json", "--max-diagnostics=none", "assembly/proxy-wasm", "assembly/gateway"], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
  });
} catch (err) {
  out = err.stdout; // Biome exits 1 on the decorators' parse errors; its stderr then only says so.
}
const report = JSON.parse(out);
const decorator = (d) => d.category === "parse" && d.message === "Decorators are not valid here.";
const bad = report.diagnostics.filter((d) => !decorator(d));
for (const d of bad) console.error(`${d.location?.path}:${d.location?.start?.line}: ${d.category}: ${d.message}`);
if (report.summary.unchanged + report.summary.changed === 0) bad.push("no files checked");
if (bad.length > 0) process.exit(1);
console.log(`assembly/: ${report.summary.unchanged} files, import boundaries kept, no refused standard library call`);
