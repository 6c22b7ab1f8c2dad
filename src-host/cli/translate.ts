// `aigw translate`: the manifests `aigw run` serves, as files for a real Envoy or for Envoy Gateway.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { EndpointAddress } from "../translate/bootstrap.js";
import type { WasmCode } from "../translate/envoy-gateway.js";
import { parseRuntime, type WasmRuntime } from "../translate/runtime.js";
import { builtModule, sha256File, translate, type Target, type TranslateOptions } from "../translate/translate.js";

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
  --ratelimit HOST:PORT   (envoy-gateway) rate limit service for Global token limits`;

const VALUED = new Set([
  "--target", "-o", "--out", "--port", "--admin-port", "--workers", "--runtime", "--module", "--wasm-image", "--wasm-http", "--wasm-sha256",
  "--cluster-domain", "--ratelimit",
]);

export interface TranslateCliIo {
  stdout?: (text: string) => void;
  stderr?: (text: string) => void;
}

export async function runTranslateCli(argv: string[], io: TranslateCliIo = {}): Promise<void> {
  const out = io.stdout ?? ((t: string) => void process.stdout.write(t));
  const err = io.stderr ?? ((t: string) => void process.stderr.write(t));
  const paths: string[] = [];
  const flags = new Map<string, string>();
  let docker = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "-h" || arg === "--help") {
      out(`${TRANSLATE_USAGE}\n`);
      return;
    }
    if (arg === "--docker") {
      docker = true;
      continue;
    }
    if (!arg.startsWith("-")) {
      paths.push(arg);
      continue;
    }
    const eq = arg.indexOf("=");
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    if (!VALUED.has(name)) throw new Error(`unknown flag ${name}\n${TRANSLATE_USAGE}`);
    const value = eq > 0 ? arg.slice(eq + 1) : argv[++i];
    if (value === undefined || value === "") throw new Error(`${name} needs a value`);
    const key = name === "-o" ? "--out" : name;
    if (flags.has(key)) throw new Error(`${name} given twice`);
    flags.set(key, value);
  }

  const target = flags.get("--target") ?? "envoy";
  if (target !== "envoy" && target !== "envoy-gateway") throw new Error(`--target must be envoy or envoy-gateway, got "${target}"`);
  const opts: TranslateOptions = { paths, target: target as Target, docker, outDir: flags.get("--out") };
  opts.port = intFlag(flags, "--port", 1, 65535);
  opts.adminPort = intFlag(flags, "--admin-port", 1, 65535);
  opts.workers = intFlag(flags, "--workers", 1, 64);
  opts.runtime = parseRuntime(flags.get("--runtime") ?? "v8");
  opts.modulePath = flags.get("--module");
  opts.code = wasmCode(flags, opts.runtime);
  opts.clusterDomain = flags.get("--cluster-domain");
  const rls = flags.get("--ratelimit");
  if (rls !== undefined) opts.rateLimitService = hostPort(rls);

  const result = translate(opts);
  for (const w of result.warnings) err(`warning: ${w}\n`);
  const dir = flags.get("--out");
  if (dir === undefined) {
    out(result.files.map((f) => f.content).join("---\n"));
    return;
  }
  mkdirSync(dir, { recursive: true });
  for (const f of result.files) {
    writeFileSync(join(dir, f.name), f.content);
    err(`wrote ${join(dir, f.name)}\n`);
  }
}

function intFlag(flags: Map<string, string>, name: string, min: number, max: number): number | undefined {
  const v = flags.get(name);
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v) || Number(v) < min || Number(v) > max) throw new Error(`${name} must be an integer from ${min} to ${max}, got "${v}"`);
  return Number(v);
}

function wasmCode(flags: Map<string, string>, runtime: WasmRuntime): WasmCode | undefined {
  const image = flags.get("--wasm-image");
  const http = flags.get("--wasm-http");
  const sha = flags.get("--wasm-sha256")?.replace(/^sha256:/, "");
  if (sha !== undefined && !/^[0-9a-f]{64}$/.test(sha)) throw new Error(`--wasm-sha256 must be 64 lower-case hex digits, got "${sha}"`);
  if (image !== undefined && http !== undefined) throw new Error("--wasm-image and --wasm-http exclude each other");
  if (image !== undefined) return { type: "Image", url: image.replace(/^oci:\/\//, ""), sha256: sha };
  if (http !== undefined) {
    if (!/^https?:\/\//.test(http)) throw new Error(`--wasm-http must be an http(s) URL, got "${http}"`);
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
  if (sha !== undefined) throw new Error("--wasm-sha256 needs --wasm-image or --wasm-http");
  return undefined;
}

function hostPort(v: string): EndpointAddress {
  const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(v);
  if (!m || Number(m[2]) < 1 || Number(m[2]) > 65535) throw new Error(`--ratelimit must be HOST:PORT, got "${v}"`);
  return { address: m[1]!.replace(/^\[|\]$/g, ""), port: Number(m[2]) };
}
