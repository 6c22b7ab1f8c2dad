// aigw translate on the command line: files written with -o, printed without, and clear refusals.
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { parseAllDocuments } from "yaml";
import { runTranslateCli, TRANSLATE_USAGE } from "../../src-host/cli/translate.js";
import { BUILT_MODULE, sha256File, translate } from "../../src-host/translate/translate.js";
import { tempDir } from "./helpers.js";

async function run(argv: string[]): Promise<{ stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  await runTranslateCli(argv, { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t) });
  return { stdout, stderr };
}

describe("aigw translate", () => {
  test("without arguments prints the seed example's bootstrap", async () => {
    const { stdout } = await run([]);
    expect(stdout).toBe(translate({}).files[0]!.content);
  });

  test("-o DIR --docker writes envoy.yaml and docker-compose.yaml, with paths relative to DIR", async () => {
    const dir = join(tempDir(), "out");
    const { stdout, stderr } = await run(["--target", "envoy", "--docker", "-o", dir]);
    expect(stdout).toBe("");
    expect(readdirSync(dir).sort()).toEqual(["docker-compose.yaml", "envoy.yaml"]);
    expect(stderr).toContain(`wrote ${join(dir, "envoy.yaml")}`);
    const expected = translate({ docker: true, outDir: dir }).files;
    expect(readFileSync(join(dir, "docker-compose.yaml"), "utf8")).toBe(expected[1]!.content);
  });

  test("--target envoy-gateway with an image, and with an HTTP URL whose checksum defaults to the built module's", async () => {
    const sha = "ab".repeat(32);
    const { stdout } = await run([
      "envoy/examples/inference-pool",
      "--target=envoy-gateway",
      "--wasm-image",
      "oci://r.example/aigw:1",
      "--wasm-sha256",
      `sha256:${sha}`,
    ]);
    const eep = parseAllDocuments(stdout)
      .map((d) => d.toJS())
      .find((d) => d.kind === "EnvoyExtensionPolicy");
    expect(eep.spec.wasm[0].code).toEqual({ type: "Image", image: { url: "r.example/aigw:1", sha256: sha } });
    const http = await run(["--target", "envoy-gateway", "--wasm-http", "https://files.example/ai-gateway.wasm"]);
    const code = parseAllDocuments(http.stdout)
      .map((d) => d.toJS())
      .find((d) => d.kind === "EnvoyExtensionPolicy").spec.wasm[0].code;
    expect(code).toEqual({ type: "HTTP", http: { url: "https://files.example/ai-gateway.wasm", sha256: sha256File(BUILT_MODULE) } });
  });

  test("--help prints the usage", async () => {
    expect((await run(["--help"])).stdout).toBe(`${TRANSLATE_USAGE}\n`);
  });

  test("refusals say what is wrong", async () => {
    const cases: Array<[string[], RegExp]> = [
      [["--frobnicate"], /Unknown option '--frobnicate'/],
      [["--target", "istio"], /--target must be envoy or envoy-gateway, got "istio"/],
      [["--port", "0"], /--port must be an integer from 1 to 65535, got "0"/],
      [["--workers"], /Option '--workers <value>' argument missing/],
      [["--out="], /--out needs a value/],
      [["--target", "envoy-gateway"], /needs where Envoy Gateway fetches the module: --wasm-image REF or --wasm-http URL/],
      [["--target", "envoy-gateway", "--wasm-image", "r/x:1", "--wasm-http", "https://x/y"], /exclude each other/],
      [["--target", "envoy-gateway", "--wasm-http", "ftp://x/y"], /must be an http\(s\) URL/],
      [["--target", "envoy-gateway", "--wasm-image", "r/x:1", "--wasm-sha256", "xyz"], /64 lower-case hex digits/],
      [["--target", "envoy-gateway", "--wasm-image", "r/x:1", "--ratelimit", "nohost"], /--ratelimit must be HOST:PORT/],
      [["--docker", "--wasm-image", "r/x:1"], /apply to --target envoy-gateway only/],
      [["no/such/dir"], /no\/such\/dir/],
    ];
    for (const [argv, expected] of cases) {
      await expect(run(argv), argv.join(" ")).rejects.toThrow(expected);
    }
  });
});
