// XXH64 with seed 0 (cespare/xxhash in Go), from the xxhash-wasm package.
import xxhash from "xxhash-wasm";

export type Xxh64 = (data: Uint8Array) => bigint;

let loaded: Promise<Xxh64> | undefined;

export function loadXxh64(): Promise<Xxh64> {
  loaded ??= xxhash().then((api) => (data: Uint8Array) => api.h64Raw(data, 0n));
  return loaded;
}
