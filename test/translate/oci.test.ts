// make oci: the OCI image layout is valid (every digest matches its blob), holds the module as plugin.wasm in
// the one tar+gzip layer Envoy Gateway's fetcher takes, and is byte-for-byte reproducible.
import { createHash } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { describe, expect, test } from "vitest";
import { buildOciLayout, MEDIA_TYPES, PLUGIN_FILE } from "../../src-host/translate/oci.js";
import { tempDir } from "./helpers.js";

// A valid module: magic, version 1, one custom section "a" of 600 bytes (602 = LEB128 0xda 0x04), so the
// size is not a multiple of the tar block.
const MODULE = Buffer.concat([Buffer.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 0, 0xda, 0x04, 1, 0x61]), Buffer.alloc(600, 7)]);

const sha = (b: Uint8Array) => `sha256:${createHash("sha256").update(b).digest("hex")}`;

/** Reads one blob and checks that its name is its digest. */
function blob(dir: string, digest: string): Buffer {
  const bytes = readFileSync(join(dir, "blobs", "sha256", digest.slice("sha256:".length)));
  expect(sha(bytes)).toBe(digest);
  return bytes;
}

/** The entries of a ustar archive, with their header checksums verified. */
function untar(tar: Buffer): Array<{ name: string; mode: string; mtime: number; content: Buffer }> {
  const out = [];
  let at = 0;
  while (at + 512 <= tar.length && tar.subarray(at, at + 512).some((b) => b !== 0)) {
    const h = tar.subarray(at, at + 512);
    const str = (o: number, l: number) =>
      h
        .subarray(o, o + l)
        .toString("ascii")
        .replace(/\0.*$/s, "");
    let sum = 0;
    for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 32 : h[i]!;
    expect(parseInt(str(148, 8).trim(), 8)).toBe(sum);
    expect(str(257, 6)).toBe("ustar");
    const size = parseInt(str(124, 12), 8);
    out.push({ name: str(0, 100), mode: str(100, 8), mtime: parseInt(str(136, 12), 8), content: tar.subarray(at + 512, at + 512 + size) });
    at += 512 + Math.ceil(size / 512) * 512;
  }
  expect(tar.length - at).toBe(1024); // two zero blocks end the archive
  return out;
}

describe("the OCI image layout", () => {
  const dir = join(tempDir(), "oci");
  const image = buildOciLayout(MODULE, dir, "0.1.0");

  test("oci-layout and index.json name the manifest by digest and tag", () => {
    expect(JSON.parse(readFileSync(join(dir, "oci-layout"), "utf8"))).toEqual({ imageLayoutVersion: "1.0.0" });
    const index = JSON.parse(readFileSync(join(dir, "index.json"), "utf8"));
    expect(index).toEqual({
      schemaVersion: 2,
      mediaType: MEDIA_TYPES.index,
      manifests: [{ ...image.manifest, annotations: { "org.opencontainers.image.ref.name": "0.1.0" } }],
    });
    expect(blob(dir, image.manifest.digest).length).toBe(image.manifest.size);
  });

  test("the manifest: an OCI image config and one tar+gzip layer, sizes and digests matching the blobs", () => {
    const manifest = JSON.parse(blob(dir, image.manifest.digest).toString());
    expect(manifest).toEqual({ schemaVersion: 2, mediaType: MEDIA_TYPES.manifest, config: image.config, layers: [image.layer] });
    expect(image.config.mediaType).toBe("application/vnd.oci.image.config.v1+json");
    expect(image.layer.mediaType).toBe("application/vnd.oci.image.layer.v1.tar+gzip");
    expect(blob(dir, image.config.digest).length).toBe(image.config.size);
    expect(blob(dir, image.layer.digest).length).toBe(image.layer.size);
    expect(readdirSync(join(dir, "blobs", "sha256")).sort()).toEqual(
      [image.manifest.digest, image.config.digest, image.layer.digest].map((d) => d.slice(7)).sort(),
    );
  });

  test("the layer is a tar holding exactly the module as plugin.wasm; the config's diff_id is the tar's digest", () => {
    const tar = gunzipSync(blob(dir, image.layer.digest));
    const entries = untar(tar);
    expect(entries.map((e) => [e.name, e.mode, e.mtime])).toEqual([[PLUGIN_FILE, "0000644", 0]]);
    expect(Buffer.compare(entries[0]!.content, MODULE)).toBe(0);
    const config = JSON.parse(blob(dir, image.config.digest).toString());
    expect(config.rootfs).toEqual({ type: "layers", diff_ids: [sha(tar)] });
    expect(image.diffId).toBe(sha(tar));
  });

  test("reproducible: the same module gives the same manifest digest, a different one another", () => {
    expect(buildOciLayout(MODULE, join(tempDir(), "again"), "0.1.0").manifest.digest).toBe(image.manifest.digest);
    const other = Buffer.from(MODULE);
    other[MODULE.length - 1] = 8;
    expect(buildOciLayout(other, join(tempDir(), "other"), "0.1.0").manifest.digest).not.toBe(image.manifest.digest);
  });

  test("rebuilding replaces the layout without stale blobs; other directories and non-modules are refused", () => {
    const d = join(tempDir(), "rebuild");
    buildOciLayout(MODULE, d, "a");
    const second = buildOciLayout(Buffer.concat([MODULE, Buffer.from([0])]), d, "b");
    expect(readdirSync(join(d, "blobs", "sha256"))).toHaveLength(3);
    expect(JSON.parse(readFileSync(join(d, "index.json"), "utf8")).manifests[0].digest).toBe(second.manifest.digest);
    const busy = tempDir();
    mkdirSync(join(busy, "src"));
    writeFileSync(join(busy, "notes.txt"), "keep");
    expect(() => buildOciLayout(MODULE, busy, "a")).toThrow(/exists and is not an OCI image layout/);
    expect(readFileSync(join(busy, "notes.txt"), "utf8")).toBe("keep");
    expect(() => buildOciLayout(Buffer.from("not wasm at all"), join(tempDir(), "x"), "a")).toThrow(/not a WebAssembly module/);
    expect(() => buildOciLayout(MODULE, join(tempDir(), "y"), "bad tag")).toThrow(/not a valid image tag/);
  });
});
