// The module as an OCI image layout (`make oci` → build/oci), without Docker: the "compat" variant of the
// Wasm image spec that Envoy Gateway and Istio pull (envoyproxy/gateway internal/wasm/imagefetcher.go,
// extractOCIStandardImage): an OCI image manifest whose one layer, application/vnd.oci.image.layer.v1.tar+gzip,
// is a tar holding `plugin.wasm`. The bytes are reproducible (tar and gzip times are 0), so the manifest
// digest - what Envoy Gateway's image.sha256 checks - depends only on the module.
//
//   node build/host/src-host/translate/oci.js --wasm build/ai-gateway.wasm --out build/oci --tag 0.1.0

import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";

export const MEDIA_TYPES = {
  index: "application/vnd.oci.image.index.v1+json",
  manifest: "application/vnd.oci.image.manifest.v1+json",
  config: "application/vnd.oci.image.config.v1+json",
  layer: "application/vnd.oci.image.layer.v1.tar+gzip",
} as const;
/** The file name Envoy Gateway and Istio look for in the layer. */
export const PLUGIN_FILE = "plugin.wasm";

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
}

export interface OciImage {
  manifest: Descriptor;
  config: Descriptor;
  layer: Descriptor;
  /** sha256 of the uncompressed layer (rootfs.diff_ids). */
  diffId: string;
}

function sha256(bytes: Uint8Array): string {
  return `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
}

/** Writes `outDir` as an OCI image layout holding the module, tagged `tag`. */
export function buildOciLayout(wasm: Uint8Array, outDir: string, tag: string): OciImage {
  if (wasm.length < 8 || wasm[0] !== 0 || wasm[1] !== 0x61 || wasm[2] !== 0x73 || wasm[3] !== 0x6d) {
    throw new Error("not a WebAssembly module (no \\0asm header)");
  }
  if (!/^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/.test(tag)) throw new Error(`"${tag}" is not a valid image tag`);
  prepare(outDir);
  const blobs: Array<[string, Uint8Array]> = [];
  const blob = (mediaType: string, bytes: Uint8Array): Descriptor => {
    const digest = sha256(bytes);
    blobs.push([digest, bytes]);
    return { mediaType, digest, size: bytes.length };
  };
  const tar = tarFile(PLUGIN_FILE, wasm);
  const gz = gzipSync(tar, { level: 9 });
  gz[9] = 0xff; // the gzip header's OS byte: "unknown", whatever platform built it
  const layer = blob(MEDIA_TYPES.layer, gz);
  const diffId = sha256(tar);
  const configJson = { architecture: "wasm", os: "wasip1", config: {}, rootfs: { type: "layers", diff_ids: [diffId] } };
  const config = blob(MEDIA_TYPES.config, json(configJson));
  const manifest = blob(MEDIA_TYPES.manifest, json({ schemaVersion: 2, mediaType: MEDIA_TYPES.manifest, config, layers: [layer] }));
  const index = { schemaVersion: 2, mediaType: MEDIA_TYPES.index, manifests: [{ ...manifest, annotations: { "org.opencontainers.image.ref.name": tag } }] };
  mkdirSync(join(outDir, "blobs", "sha256"), { recursive: true });
  for (const [digest, bytes] of blobs) writeFileSync(join(outDir, "blobs", "sha256", digest.slice("sha256:".length)), bytes);
  writeFileSync(join(outDir, "oci-layout"), json({ imageLayoutVersion: "1.0.0" }));
  writeFileSync(join(outDir, "index.json"), json(index));
  return { manifest, config, layer, diffId };
}

function json(v: unknown): Buffer {
  return Buffer.from(JSON.stringify(v));
}

/** An existing layout is replaced; any other non-empty directory is left alone. */
function prepare(outDir: string): void {
  if (!existsSync(outDir)) return;
  const entries = readdirSync(outDir);
  if (entries.length > 0 && !entries.includes("oci-layout")) throw new Error(`${outDir} exists and is not an OCI image layout`);
  for (const e of entries) rmSync(join(outDir, e), { recursive: true, force: true });
}

/** A ustar archive of one regular file: mode 0644, owner 0, time 0. */
function tarFile(name: string, content: Uint8Array): Buffer {
  const header = Buffer.alloc(512);
  const field = (offset: number, length: number, value: string): void => void header.write(value, offset, length, "ascii");
  const octal = (n: number, length: number): string => `${n.toString(8).padStart(length - 1, "0")}\0`;
  field(0, 100, name);
  field(100, 8, octal(0o644, 8));
  field(108, 8, octal(0, 8));
  field(116, 8, octal(0, 8));
  field(124, 12, octal(content.length, 12));
  field(136, 12, octal(0, 12));
  field(148, 8, "        "); // checksum: spaces while summing
  field(156, 1, "0");
  field(257, 6, "ustar\0");
  field(263, 2, "00");
  let sum = 0;
  for (const b of header) sum += b;
  field(148, 8, `${sum.toString(8).padStart(6, "0")}\0 `);
  const padding = Buffer.alloc((512 - (content.length % 512)) % 512);
  return Buffer.concat([header, content, padding, Buffer.alloc(1024)]);
}

function main(argv: string[]): void {
  const args = new Map<string, string>();
  for (let i = 0; i < argv.length; i += 2) {
    const [k, v] = [argv[i]!, argv[i + 1]];
    if (!["--wasm", "--out", "--tag"].includes(k) || v === undefined) throw new Error("usage: oci.js --wasm FILE --out DIR --tag TAG");
    args.set(k, v);
  }
  const wasmPath = args.get("--wasm") ?? "build/ai-gateway.wasm";
  const out = args.get("--out") ?? "build/oci";
  const tag = args.get("--tag") ?? "latest";
  const image = buildOciLayout(readFileSync(wasmPath), out, tag);
  process.stdout.write(
    `${out}: OCI image layout, tag ${tag}, manifest ${image.manifest.digest}\n` +
      `  push: oras cp --from-oci-layout ${out}:${tag} REGISTRY/ai-gateway-wasm:${tag}\n` +
      `  then: aigw translate --target envoy-gateway --wasm-image REGISTRY/ai-gateway-wasm:${tag} --wasm-sha256 ${image.manifest.digest.slice(7)}\n`,
  );
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    main(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`oci: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  }
}
