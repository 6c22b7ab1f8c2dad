// Canonical Huffman decoding tables for DEFLATE (RFC 1951 §3.2.2): a root table indexed by the next
// `rootBits` input bits (LSB first, so codes are stored bit-reversed), with second-level tables for longer
// codes. An entry is (symbol << 16) | length for a leaf, or (subtableStart << 16) | (subBits << 8) |
// ENTRY_LINK for a link; a zero entry is an invalid code.

export const ENTRY_LINK: u32 = 0x10;
export const MAX_CODE_BITS: i32 = 15;

// Tables are sized for the worst complete code (zlib's `enough`: 1334 entries for 286 symbols with a
// 10-bit root, 402 for 30 symbols with an 8-bit root); the builder also checks the bound.
export const LITLEN_ROOT_BITS: i32 = 10;
export const LITLEN_TABLE_SIZE: i32 = 1334;
export const DIST_ROOT_BITS: i32 = 8;
export const DIST_TABLE_SIZE: i32 = 402;
export const CODELEN_ROOT_BITS: i32 = 7;
export const CODELEN_TABLE_SIZE: i32 = 128;

// Scratch for building: counts and next codes per length, deepest code per root index.
const counts = new StaticArray<i32>(MAX_CODE_BITS + 1);
const nextCode = new StaticArray<i32>(MAX_CODE_BITS + 1);
const deepest = new StaticArray<u8>(1 << LITLEN_ROOT_BITS);

function reverseBits(code: i32, len: i32): i32 {
  let r = 0;
  for (let i = 0; i < len; i++) {
    r = (r << 1) | (code & 1);
    code >>= 1;
  }
  return r;
}

/**
 * Builds a table from code lengths (bytes at `lengths`, one per symbol). False when the lengths are
 * over-subscribed, or incomplete where DEFLATE does not allow it: a lone code of length 1 is accepted for
 * the literal/length and distance codes (`allowSingle`), and no codes at all only for the distance code.
 */
export function buildTable(lengths: usize, symbols: i32, table: StaticArray<u32>, rootBits: i32, allowSingle: bool, allowEmpty: bool): bool {
  for (let i = 0; i <= MAX_CODE_BITS; i++) unchecked((counts[i] = 0));
  let maxLen = 0;
  for (let s = 0; s < symbols; s++) {
    const l = <i32>load<u8>(lengths + <usize>s);
    if (l > MAX_CODE_BITS) return false;
    unchecked((counts[l] = counts[l] + 1));
    if (l > maxLen) maxLen = l;
  }
  const size = table.length;
  for (let i = 0; i < size; i++) unchecked((table[i] = 0));
  if (maxLen == 0) return allowEmpty;
  let left = 1;
  for (let l = 1; l <= MAX_CODE_BITS; l++) {
    left = (left << 1) - unchecked(counts[l]);
    if (left < 0) return false; // over-subscribed
  }
  if (left > 0 && !(allowSingle && maxLen == 1)) return false; // incomplete
  let code = 0;
  unchecked((counts[0] = 0));
  for (let l = 1; l <= MAX_CODE_BITS; l++) {
    code = (code + unchecked(counts[l - 1])) << 1;
    unchecked((nextCode[l] = code));
  }
  const rootSize = 1 << rootBits;
  const rootMask = rootSize - 1;
  if (maxLen > rootBits) {
    // Size each second-level table by the deepest code under its root index.
    for (let i = 0; i < rootSize; i++) unchecked((deepest[i] = 0));
    for (let s = 0; s < symbols; s++) {
      const l = <i32>load<u8>(lengths + <usize>s);
      if (l <= rootBits) continue;
      const c = unchecked(nextCode[l]);
      unchecked((nextCode[l] = c + 1));
      const idx = reverseBits(c, l) & rootMask;
      if (<i32>unchecked(deepest[idx]) < l) unchecked((deepest[idx] = <u8>l));
    }
    let next = rootSize;
    for (let i = 0; i < rootSize; i++) {
      const d = <i32>unchecked(deepest[i]);
      if (d == 0) continue;
      const subBits = d - rootBits;
      if (next + (1 << subBits) > size) return false;
      unchecked((table[i] = (<u32>next << 16) | (<u32>subBits << 8) | ENTRY_LINK));
      next += 1 << subBits;
    }
    // Restart the canonical codes for the filling pass.
    code = 0;
    for (let l = 1; l <= MAX_CODE_BITS; l++) {
      code = (code + unchecked(counts[l - 1])) << 1;
      unchecked((nextCode[l] = code));
    }
  }
  for (let s = 0; s < symbols; s++) {
    const l = <i32>load<u8>(lengths + <usize>s);
    if (l == 0) continue;
    const c = unchecked(nextCode[l]);
    unchecked((nextCode[l] = c + 1));
    const rev = reverseBits(c, l);
    const leaf = (<u32>s << 16) | <u32>l;
    if (l <= rootBits) {
      for (let i = rev; i < rootSize; i += 1 << l) unchecked((table[i] = leaf));
    } else {
      const link = unchecked(table[rev & rootMask]);
      const base = <i32>(link >>> 16);
      const subBits = <i32>((link >>> 8) & 0xff);
      for (let i = rev >> rootBits; i < (1 << subBits); i += 1 << (l - rootBits)) unchecked((table[base + i] = leaf));
    }
  }
  return true;
}
