// CRC-32 (IEEE 802.3, reflected, polynomial 0xEDB88320) as gzip uses it (RFC 1952 §8), slice-by-4.

const TABLE: usize = memory.data(4 * 256 * 4);
let built = false;

function build(): void {
  for (let n: u32 = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    store<u32>(TABLE + (<usize>n << 2), c);
  }
  for (let n: u32 = 0; n < 256; n++) {
    let c = load<u32>(TABLE + (<usize>n << 2));
    for (let t: usize = 1; t < 4; t++) {
      c = load<u32>(TABLE + (<usize>(c & 0xff) << 2)) ^ (c >>> 8);
      store<u32>(TABLE + (t << 10) + (<usize>n << 2), c);
    }
  }
  built = true;
}

/** Continues a CRC-32 over [ptr, ptr+len); start with crc = 0. */
export function crc32(crc: u32, ptr: usize, len: usize): u32 {
  if (!built) build();
  let c = ~crc;
  let p = ptr;
  const end = ptr + len;
  while (p + 4 <= end) {
    c ^= load<u32>(p);
    c = load<u32>(TABLE + (3 << 10) + (<usize>(c & 0xff) << 2)) ^
      load<u32>(TABLE + (2 << 10) + (<usize>((c >>> 8) & 0xff) << 2)) ^
      load<u32>(TABLE + (1 << 10) + (<usize>((c >>> 16) & 0xff) << 2)) ^
      load<u32>(TABLE + (<usize>(c >>> 24) << 2));
    p += 4;
  }
  while (p < end) {
    c = load<u32>(TABLE + (<usize>((c ^ load<u8>(p)) & 0xff) << 2)) ^ (c >>> 8);
    p++;
  }
  return ~c;
}

/** Continues a CRC-32 over one byte. */
export function crc32Byte(crc: u32, b: u32): u32 {
  if (!built) build();
  const c = ~crc;
  return ~(load<u32>(TABLE + (<usize>((c ^ b) & 0xff) << 2)) ^ (c >>> 8));
}
