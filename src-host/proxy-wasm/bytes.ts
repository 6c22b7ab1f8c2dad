// String ↔ byte conversions used across the ABI. Header names and values are byte strings (Node's http
// module reads and writes them as latin1), so they cross the ABI byte for byte; other text is UTF-8.

export const latin1Bytes = (s: string): Uint8Array => Buffer.from(s, "latin1");
export const latin1String = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("latin1");
export const utf8Bytes = (s: string): Uint8Array => Buffer.from(s, "utf8");
export const utf8String = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("utf8");

export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
