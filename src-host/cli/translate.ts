// `aigw translate`: the manifests `aigw run` serves, as files for a real Envoy or for Envoy Gateway.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { EndpointAddress } from "../translate/bootstrap.js";
import type { WasmCode } from "../translate/envoy-gateway.js";
import { parseRuntime, type WasmRuntime } from "../translate/runtime.js";
import { builtModule, sha256File, translate, type Target, type TranslateOptions } from "../translate/translate.js";
import { intFlag, parseFlags, UsageError, type CommandIo } from "./usage.js";

export const TRANSLATE_USAGE = `usage: aigw translate [FILE|DIR ...] [--target envoy|envoy-gateway] [-o DIR] [options]
  FILE|DIR ...            Kubernetes manifests (default: envoy/examples/inference-pool)
  --target envoy          an Envoy bootstrap, envoy.yaml (default)
  --target envoy-gateway  Envoy Gateway resources, envoy-gateway.yaml
  -o, --out DIR           write the files into DIR (default: print them)
  --docker                (envoy) reach the pods as Compose services, and write docker-compose.yaml too
  --port N                listener port (default 1975)
  --admin-port N          Envoy admin port (default 9901)
  --workers N             Envoy --concurrency (default 2)
  --runtime NAME          Envoy's Wasm runtime: v8 (default) or wasmtime take build/ai-gateway.wasm (SIMD),
                          wamr takes build/ai-gateway-scalar.wasm (Envoy builds WAMR without SIMD)
  --module PATH           the module inside the Envoy container (default /etc/envoy/ + the module's name)
  --wasm-image REF        (envoy-gateway) the module as an OCI image (make oci, then push it)
  --wasm-http URL         (envoy-gateway) the module at an HTTP URL
  --wasm-sha256 HEX       (envoy-gateway) HTTP: the module's SHA-256 (default: of the runtime's built module);
                          Image: the image manifest digest (optional)
  --cluster-domain NAME   (envoy-gateway) Kubernetes cluster domain (default cluster.local)
  --ratelimit HOST:PORT   (envoy-gateway) your rate limit service for Global token limits (default: generate
                          aigw-ratelimit, envoyproxy/ratelimit with a Redis, in the Gateway's namespace)
  -h, --help              this text`;

const FLAGS = {
  target: { type: "string" },
  out: { type: "string", short: "o" },
  docker: { type: "boolean" },
  port: { type: "string" },
  "admin-port": { type: "string" },
  workers: { type: "string" },
  runtime: { type: "string" },
  module: { type: "string" },
  "wasm-image": { type: "string" },
  "wasm-http": { type: "string" },
  "wasm-sha256": { type: "string" },
  "cluster-domain": { type: "string" },
  ratelimit: { type: "string" },
} as const;

export async function runTranslateCli(argv: string[], io: CommandIo): Promise<void> {
  const { values, positionals: paths, help } = parseFlags(argv, FLAGS);
  if (help) return io.stdout(`${TRANSLATE_USAGE}\n`);
  const flags = new Map<string, string>();
  for (const [name, value] of Object.entries(values)) {
    if (typeof value !== "string") continue;
    if (value === "") throw new UsageError(`--${name} needs a value`);
    flags.set(`--${name}`, value);
  }
  const target = flags.get("--target") ?? "envoy";
  if (target !== "envoy" && target !== "envoy-gateway") throw new UsageError(`--target must be envoy or envoy-gateway, got "${target}"`);
  const opts: TranslateOptions = { paths, target: target as Target, docker: values.docker === true, outDir: flags.get("--out") };
  opts.port = intFlag("port", values.port, 1, 65535);
  opts.adminPort = intFlag("admin-port", values["admin-port"], 1, 65535);
  opts.workers = intFlag("workers", values.workers, 1, 64);
  try {
    opts.runtime = parseRuntime(flags.get("--runtime") ?? "v8");
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  opts.modulePath = flags.get("--module");
  opts.code = wasmCode(flags, opts.runtime);
  opts.clusterDomain = flags.get("--cluster-domain");
  const rls = flags.get("--ratelimit");
  if (rls !== undefined) opts.rateLimitService = hostPort(rls);

  const result = translate(opts);
  for (const w of result.warnings) io.stderr(`warning: ${w}\n`);
  const dir = flags.get("--out");
  if (dir === undefined) {
    io.stdout(result.files.map((f) => f.content).join("---\n"));
    return;
  }
  mkdirSync(dir, { recursive: true });
  for (const f of result.files) {
    writeFileSync(join(dir, f.name), f.content);
    io.stderr(`wrote ${join(dir, f.name)}\n`);
  }
}

function wasmCode(flags: Map<string, string>, runtime: WasmRuntime): WasmCode | undefined {
  const image = flags.get("--wasm-image");
  const http = flags.get("--wasm-http");
  const sha = flags.get("--wasm-sha256")?.replace(/^sha256:/, "");
  if (sha !== undefined && !/^[0-9a-f]{64}$/.test(sha)) throw new UsageError(`--wasm-sha256 must be 64 lower-case hex digits, got "${sha}"`);
  if (image !== undefined && http !== undefined) throw new UsageError("--wasm-image and --wasm-http exclude each other");
  if (image !== undefined) return { type: "Image", url: image.replace(/^oci:\/\//, ""), sha256: sha };
  if (http !== undefined) {
    if (!/^https?:\/\//.test(http)) throw new UsageError(`--wasm-http must be an http(s) URL, got "${http}"`);
    let sha256 = sha;
    if (sha256 === undefined) {
      try {
        sha256 = sha256File(builtModule(runtime));
      } catch {
        throw new Error(`--wasm-http needs --wasm-sha256, or ${builtModule(runtime)} to compute it from (make wasm)`);
      }
    }
    return { type: "HTTP", url: http, sha256 };
  }
  if (sha !== undefined) throw new UsageError("--wasm-sha256 needs --wasm-image or --wasm-http");
  return undefined;
}

function hostPort(v: string): EndpointAddress {
  const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(v);
  if (!m || Number(m[2]) < 1 || Number(m[2]) > 65535) throw new UsageError(`--ratelimit must be HOST:PORT, got "${v}"`);
  return { address: m[1]!.replace(/^\[|\]$/g, ""), port: Number(m[2]) };
}
