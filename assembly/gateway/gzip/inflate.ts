// A streaming gzip (RFC 1952) / raw DEFLATE (RFC 1951) decoder for reading usage out of compressed responses
// while the original bytes go to the client. Input is pushed chunk by chunk (any sizes, down to one byte) and
// every input byte is decoded once: the state survives between chunks (bit buffer, block state, 32 KiB window),
// so total work is linear in the stream — unlike re-inflating the accumulated body on every chunk.
//
//   dec.push(ptr, len);
//   let st: i32;
//   do { st = dec.pull(); use(dec.outPtr, dec.outLen); } while (st == INFLATE_MORE_OUTPUT);
//   if (st == INFLATE_ERROR) ... dec.error
//   at the end of the body: dec.end() says whether the stream was complete.
//
// Output of one pull is at most 64 KiB and stays valid until the next pull. Stored, fixed and dynamic
// Huffman blocks; gzip header flags FEXTRA/FNAME/FCOMMENT/FHCRC (the header CRC is checked); the CRC-32 and
// ISIZE trailer of every member are checked; concatenated members are decoded in turn. Malformed input sets
// `error` and stops; nothing traps.

import { crc32, crc32Byte } from "./crc32";
import {
  buildTable, ENTRY_LINK, CODELEN_ROOT_BITS, CODELEN_TABLE_SIZE, DIST_ROOT_BITS, DIST_TABLE_SIZE,
  LITLEN_ROOT_BITS, LITLEN_TABLE_SIZE,
} from "./huffman";

export const FORMAT_GZIP: i32 = 0;
export const FORMAT_RAW_DEFLATE: i32 = 1;

/** pull(): all pushed input is consumed (the output of this pull may still be non-empty). */
export const INFLATE_NEED_INPUT: i32 = 0;
/** pull(): the output buffer filled up; consume the output and pull again. */
export const INFLATE_MORE_OUTPUT: i32 = 1;
/** pull(): the stream is invalid; see `error`. */
export const INFLATE_ERROR: i32 = -1;

const WINDOW: i32 = 32768;
const OUT_SIZE: i32 = 65536;
const MAX_MATCH: i32 = 258;

const S_MEMBER: i32 = 0; // between gzip members: a header or the end of the stream
const S_HEADER: i32 = 1;
const S_BLOCK: i32 = 2;
const S_STORED_LEN: i32 = 3;
const S_STORED_COPY: i32 = 4;
const S_DYN_COUNTS: i32 = 5;
const S_DYN_CODELENS: i32 = 6;
const S_DYN_LENGTHS: i32 = 7;
const S_CODES: i32 = 8;
const S_TRAILER: i32 = 9;
const S_END: i32 = 10; // raw deflate: after the final block
const S_ERROR: i32 = 11;

// gzip header steps (RFC 1952 §2.3)
const H_ID1: i32 = 0;
const H_ID2: i32 = 1;
const H_CM: i32 = 2;
const H_FLG: i32 = 3;
const H_MTIME_XFL_OS: i32 = 4; // 6 bytes
const H_XLEN: i32 = 5; // 2 bytes
const H_EXTRA: i32 = 6;
const H_NAME: i32 = 7;
const H_COMMENT: i32 = 8;
const H_HCRC: i32 = 9; // 2 bytes
const FLAG_HCRC: i32 = 2;
const FLAG_EXTRA: i32 = 4;
const FLAG_NAME: i32 = 8;
const FLAG_COMMENT: i32 = 16;

// RFC 1951 §3.2.5
const LENGTH_BASE: StaticArray<u16> = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258];
const LENGTH_EXTRA: StaticArray<u8> = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0];
const DIST_BASE: StaticArray<u16> = [1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577];
const DIST_EXTRA: StaticArray<u8> = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13];
// RFC 1951 §3.2.7: order of the code length code lengths.
const CODELEN_ORDER: StaticArray<u8> = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15];

// The fixed Huffman codes (RFC 1951 §3.2.6), built once.
let fixedLit: StaticArray<u32> | null = null;
let fixedDist: StaticArray<u32> | null = null;

function buildFixed(): void {
  const lengths = new StaticArray<u8>(288);
  for (let i = 0; i < 288; i++) lengths[i] = i < 144 ? 8 : i < 256 ? 9 : i < 280 ? 7 : 8;
  const lit = new StaticArray<u32>(LITLEN_TABLE_SIZE);
  buildTable(changetype<usize>(lengths), 288, lit, LITLEN_ROOT_BITS, false, false);
  const dl = new StaticArray<u8>(32);
  for (let i = 0; i < 32; i++) dl[i] = 5;
  const dist = new StaticArray<u32>(DIST_TABLE_SIZE);
  buildTable(changetype<usize>(dl), 32, dist, DIST_ROOT_BITS, false, false);
  fixedLit = lit;
  fixedDist = dist;
}

export class GzipDecoder {
  readonly format: i32;
  /** Output of the last pull: [outPtr, outPtr + outLen), valid until the next pull. */
  outPtr: usize = 0;
  outLen: i32 = 0;
  /** Decompressed bytes so far, over all members. */
  totalOut: u64 = 0;
  /** Complete gzip members decoded. */
  members: i32 = 0;
  /** Why decoding stopped ("" while fine). */
  error: string = "";

  private state: i32;
  private step: i32 = H_ID1;
  private count: i32 = 0;
  private flags: i32 = 0;
  private headerCrc: u32 = 0;
  private xlen: i32 = 0;

  private bitBuf: u64 = 0;
  private bitCount: i32 = 0;
  private inPtr: usize = 0;
  private inEnd: usize = 0;
  private consumedAny: bool = false;

  private out: ArrayBuffer | null = null;
  private pos: i32 = 0;
  /** Buffer index where the current member's output starts (distances may not reach before it). */
  private memberFloor: i32 = 0;
  private crcFrom: i32 = 0;
  private crc: u32 = 0;
  private memberOut: u64 = 0;

  private finalBlock: bool = false;
  private storedLeft: i32 = 0;
  private hlit: i32 = 0;
  private hdist: i32 = 0;
  private hclen: i32 = 0;
  private index: i32 = 0;
  private lengths: StaticArray<u8> = new StaticArray<u8>(320);
  private codeLens: StaticArray<u8> = new StaticArray<u8>(19);
  private codeLenTable: StaticArray<u32> = new StaticArray<u32>(CODELEN_TABLE_SIZE);
  private dynLit: StaticArray<u32>;
  private dynDist: StaticArray<u32>;
  /** The tables of the current block: dynLit/dynDist or the fixed ones. */
  private lit: StaticArray<u32>;
  private dist: StaticArray<u32>;
  private trailerCrc: u32 = 0;
  private trailerSize: u32 = 0;

  constructor(format: i32 = FORMAT_GZIP) {
    this.format = format;
    this.state = format == FORMAT_GZIP ? S_MEMBER : S_BLOCK;
    const lit = new StaticArray<u32>(LITLEN_TABLE_SIZE);
    const dist = new StaticArray<u32>(DIST_TABLE_SIZE);
    this.dynLit = lit;
    this.dynDist = dist;
    this.lit = lit;
    this.dist = dist;
  }

  /** Makes the next chunk of compressed input available; keep it alive until pull() says NEED_INPUT. */
  push(ptr: usize, len: i32): void {
    this.inPtr = ptr;
    this.inEnd = ptr + <usize>len;
    if (len > 0) this.consumedAny = true;
  }

  /** The end of the compressed body: true when the stream ended cleanly (or was empty), else sets `error`. */
  end(): bool {
    if (this.state == S_ERROR) return false;
    const clean = this.format == FORMAT_GZIP
      ? this.state == S_MEMBER && this.bitCount == 0 && this.inPtr >= this.inEnd
      : this.state == S_END || (!this.consumedAny && this.state == S_BLOCK);
    if (!clean) this.fail(this.format == FORMAT_GZIP ? "unexpected end of gzip stream" : "unexpected end of deflate stream");
    return clean;
  }

  pull(): i32 {
    this.outLen = 0;
    if (this.state == S_ERROR) return INFLATE_ERROR;
    let out = this.out;
    if (out === null) {
      out = new ArrayBuffer(OUT_SIZE);
      this.out = out;
    }
    const base = changetype<usize>(out);
    // Keep the last 32 KiB as the window and reuse the rest of the buffer.
    if (OUT_SIZE - this.pos < MAX_MATCH) {
      const shift = this.pos - WINDOW;
      memory.copy(base, base + <usize>shift, <usize>WINDOW);
      this.pos = WINDOW;
      this.crcFrom = WINDOW;
      this.memberFloor = this.memberFloor > shift ? this.memberFloor - shift : 0;
    }
    const start = this.pos;
    const status = this.run(base);
    this.foldCrc(base);
    this.outPtr = base + <usize>start;
    this.outLen = this.pos - start;
    this.totalOut += <u64>this.outLen;
    return status;
  }

  private run(base: usize): i32 {
    while (true) {
      switch (this.state) {
        case S_MEMBER: {
          if (this.bitCount == 0 && this.inPtr >= this.inEnd) return INFLATE_NEED_INPUT;
          this.state = S_HEADER;
          this.step = H_ID1;
          this.headerCrc = 0;
          break;
        }
        case S_HEADER: {
          const st = this.header();
          if (st != 1) return st == 0 ? INFLATE_NEED_INPUT : INFLATE_ERROR;
          this.crc = 0;
          this.memberOut = 0;
          this.memberFloor = this.pos;
          this.crcFrom = this.pos;
          this.state = S_BLOCK;
          break;
        }
        case S_BLOCK: {
          this.refill();
          if (this.bitCount < 3) return INFLATE_NEED_INPUT;
          const bits = <i32>(this.bitBuf & 7);
          this.consume(3);
          this.finalBlock = (bits & 1) != 0;
          const type = bits >> 1;
          if (type == 0) {
            this.consume(this.bitCount & 7); // stored blocks start on a byte boundary
            this.state = S_STORED_LEN;
          } else if (type == 1) {
            if (fixedLit === null) buildFixed();
            this.lit = fixedLit!;
            this.dist = fixedDist!;
            this.state = S_CODES;
          } else if (type == 2) {
            this.state = S_DYN_COUNTS;
          } else {
            return this.fail("invalid block type");
          }
          break;
        }
        case S_STORED_LEN: {
          this.refill();
          if (this.bitCount < 32) return INFLATE_NEED_INPUT;
          const len = <i32>(this.bitBuf & 0xffff);
          const nlen = <i32>((this.bitBuf >> 16) & 0xffff);
          if (len != (~nlen & 0xffff)) return this.fail("invalid stored block lengths");
          this.consume(32);
          this.storedLeft = len;
          this.state = S_STORED_COPY;
          break;
        }
        case S_STORED_COPY: {
          // Whole bytes still in the bit buffer first, then straight from the input.
          while (this.storedLeft > 0 && this.bitCount >= 8 && this.pos < OUT_SIZE) {
            store<u8>(base + <usize>this.pos, <u8>this.bitBuf);
            this.pos++;
            this.consume(8);
            this.storedLeft--;
          }
          let n = this.storedLeft;
          const avail = <i32>(this.inEnd - this.inPtr);
          if (n > avail) n = avail;
          if (n > OUT_SIZE - this.pos) n = OUT_SIZE - this.pos;
          if (n > 0) {
            memory.copy(base + <usize>this.pos, this.inPtr, <usize>n);
            this.inPtr += <usize>n;
            this.pos += n;
            this.storedLeft -= n;
          }
          if (this.storedLeft > 0) return this.pos >= OUT_SIZE ? INFLATE_MORE_OUTPUT : INFLATE_NEED_INPUT;
          this.endOfBlock();
          break;
        }
        case S_DYN_COUNTS: {
          this.refill();
          if (this.bitCount < 14) return INFLATE_NEED_INPUT;
          const v = <i32>(this.bitBuf & 0x3fff);
          this.consume(14);
          this.hlit = (v & 31) + 257;
          this.hdist = ((v >> 5) & 31) + 1;
          this.hclen = (v >> 10) + 4;
          if (this.hlit > 286 || this.hdist > 30) return this.fail("too many length or distance symbols");
          for (let i = 0; i < 19; i++) unchecked((this.codeLens[i] = 0));
          this.index = 0;
          this.state = S_DYN_CODELENS;
          break;
        }
        case S_DYN_CODELENS: {
          while (this.index < this.hclen) {
            this.refill();
            if (this.bitCount < 3) return INFLATE_NEED_INPUT;
            unchecked((this.codeLens[<i32>unchecked(CODELEN_ORDER[this.index])] = <u8>(this.bitBuf & 7)));
            this.consume(3);
            this.index++;
          }
          if (!buildTable(changetype<usize>(this.codeLens), 19, this.codeLenTable, CODELEN_ROOT_BITS, false, false)) {
            return this.fail("invalid code lengths set");
          }
          this.index = 0;
          this.state = S_DYN_LENGTHS;
          break;
        }
        case S_DYN_LENGTHS: {
          const st = this.codeLengths();
          if (st != 1) return st == 0 ? INFLATE_NEED_INPUT : INFLATE_ERROR;
          const lens = changetype<usize>(this.lengths);
          if (load<u8>(lens + 256) == 0) return this.fail("invalid code: missing end-of-block");
          if (!buildTable(lens, this.hlit, this.dynLit, LITLEN_ROOT_BITS, true, false)) return this.fail("invalid literal/lengths set");
          if (!buildTable(lens + <usize>this.hlit, this.hdist, this.dynDist, DIST_ROOT_BITS, true, true)) return this.fail("invalid distances set");
          this.lit = this.dynLit;
          this.dist = this.dynDist;
          this.state = S_CODES;
          break;
        }
        case S_CODES: {
          const st = this.codes(base);
          if (st != 1) return st == 0 ? INFLATE_NEED_INPUT : st == 2 ? INFLATE_MORE_OUTPUT : INFLATE_ERROR;
          this.endOfBlock();
          break;
        }
        case S_TRAILER: {
          while (this.count < 8) {
            const b = this.nextByte();
            if (b < 0) return INFLATE_NEED_INPUT;
            if (this.count < 4) this.trailerCrc |= <u32>b << (<u32>this.count << 3);
            else this.trailerSize |= <u32>b << (<u32>(this.count - 4) << 3);
            this.count++;
          }
          this.foldCrc(base);
          if (this.trailerCrc != this.crc) return this.fail("incorrect data check (CRC-32 mismatch)");
          if (this.trailerSize != <u32>this.memberOut) return this.fail("incorrect length check (ISIZE mismatch)");
          this.members++;
          this.state = S_MEMBER;
          break;
        }
        case S_END: {
          if (this.bitCount >= 8 || this.inPtr < this.inEnd) return this.fail("data after the end of the deflate stream");
          return INFLATE_NEED_INPUT;
        }
        default:
          return INFLATE_ERROR;
      }
    }
    return INFLATE_ERROR; // unreachable
  }

  private endOfBlock(): void {
    if (!this.finalBlock) {
      this.state = S_BLOCK;
    } else if (this.format == FORMAT_GZIP) {
      this.consume(this.bitCount & 7); // the trailer is byte-aligned
      this.state = S_TRAILER;
      this.count = 0;
      this.trailerCrc = 0;
      this.trailerSize = 0;
    } else {
      this.consume(this.bitCount & 7);
      this.state = S_END;
    }
  }

  // Returns 1 when the header is complete, 0 for more input, -1 on error.
  private header(): i32 {
    while (true) {
      const b = this.nextByte();
      if (b < 0) return 0;
      const step = this.step;
      if (step != H_HCRC) this.headerCrc = crc32Byte(this.headerCrc, <u32>b);
      switch (step) {
        case H_ID1:
          if (b != 0x1f) return this.failCode(this.members > 0 ? "trailing garbage after gzip member" : "not a gzip stream (bad magic)");
          this.step = H_ID2;
          break;
        case H_ID2:
          if (b != 0x8b) return this.failCode(this.members > 0 ? "trailing garbage after gzip member" : "not a gzip stream (bad magic)");
          this.step = H_CM;
          break;
        case H_CM:
          if (b != 8) return this.failCode("unknown compression method");
          this.step = H_FLG;
          break;
        case H_FLG:
          if ((b & 0xe0) != 0) return this.failCode("unknown header flags set");
          this.flags = b;
          this.step = H_MTIME_XFL_OS;
          this.count = 6;
          break;
        case H_MTIME_XFL_OS:
          if (--this.count == 0) {
            if ((this.flags & FLAG_EXTRA) != 0) {
              this.step = H_XLEN;
              this.count = 0;
              this.xlen = 0;
            } else if (this.afterExtra()) return 1;
          }
          break;
        case H_XLEN:
          this.xlen |= b << (this.count << 3);
          if (++this.count == 2) {
            if (this.xlen > 0) {
              this.step = H_EXTRA;
              this.count = this.xlen;
            } else if (this.afterExtra()) return 1;
          }
          break;
        case H_EXTRA:
          if (--this.count == 0 && this.afterExtra()) return 1;
          break;
        case H_NAME:
          if (b == 0 && this.afterName()) return 1;
          break;
        case H_COMMENT:
          if (b == 0 && this.afterComment()) return 1;
          break;
        case H_HCRC:
          this.xlen |= b << (this.count << 3);
          if (++this.count == 2) {
            if (<u32>this.xlen != (this.headerCrc & 0xffff)) return this.failCode("header crc mismatch");
            return 1;
          }
          break;
      }
    }
    return 0; // unreachable
  }

  // Moves past optional header fields that are absent; true when the header is complete.
  private afterExtra(): bool {
    if ((this.flags & FLAG_NAME) != 0) { this.step = H_NAME; return false; }
    return this.afterName();
  }

  private afterName(): bool {
    if ((this.flags & FLAG_COMMENT) != 0) { this.step = H_COMMENT; return false; }
    return this.afterComment();
  }

  private afterComment(): bool {
    if ((this.flags & FLAG_HCRC) != 0) {
      this.step = H_HCRC;
      this.count = 0;
      this.xlen = 0;
      return false;
    }
    return true;
  }

  // Reads the literal/length and distance code lengths: 1 done, 0 more input, -1 error.
  private codeLengths(): i32 {
    const total = this.hlit + this.hdist;
    const table = this.codeLenTable;
    const lens = this.lengths;
    while (this.index < total) {
      this.refill();
      const e = unchecked(table[<i32>(this.bitBuf & 0x7f)]);
      const l = <i32>(e & 0xf);
      if (l == 0) return this.failCode("invalid code length code");
      if (l > this.bitCount) return 0;
      const sym = <i32>(e >>> 16);
      if (sym < 16) {
        unchecked((lens[this.index++] = <u8>sym));
        this.consume(l);
        continue;
      }
      const extra = sym == 16 ? 2 : sym == 17 ? 3 : 7;
      if (l + extra > this.bitCount) return 0;
      const v = <i32>((this.bitBuf >> <u64>l) & <u64>((1 << extra) - 1));
      let value: u8 = 0;
      let repeat: i32;
      if (sym == 16) {
        if (this.index == 0) return this.failCode("invalid bit length repeat");
        value = unchecked(lens[this.index - 1]);
        repeat = 3 + v;
      } else {
        repeat = sym == 17 ? 3 + v : 11 + v;
      }
      if (this.index + repeat > total) return this.failCode("invalid bit length repeat");
      this.consume(l + extra);
      for (let i = 0; i < repeat; i++) unchecked((lens[this.index++] = value));
    }
    return 1;
  }

  // Decodes symbols of the current block: 1 at its end, 0 more input, 2 output full, -1 error.
  private codes(base: usize): i32 {
    const lit = this.lit;
    const dist = this.dist;
    let bb = this.bitBuf;
    let bc = this.bitCount;
    let ip = this.inPtr;
    const ie = this.inEnd;
    let pos = this.pos;
    const floor = this.memberFloor;
    let result = 0;
    while (true) {
      if (OUT_SIZE - pos < MAX_MATCH) { result = 2; break; }
      while (bc <= 56 && ip < ie) {
        bb |= <u64>load<u8>(ip) << <u64>bc;
        ip++;
        bc += 8;
      }
      let e = unchecked(lit[<i32>(bb & <u64>((1 << LITLEN_ROOT_BITS) - 1))]);
      if ((e & ENTRY_LINK) != 0) {
        e = unchecked(lit[<i32>(e >>> 16) + (<i32>(bb >> <u64>LITLEN_ROOT_BITS) & ((1 << <i32>((e >>> 8) & 0xff)) - 1))]);
      }
      const l1 = <i32>(e & 0xf);
      if (l1 == 0) { result = -1; this.fail("invalid literal/length code"); break; }
      if (l1 > bc) break; // needs more input
      const sym = <i32>(e >>> 16);
      if (sym < 256) {
        store<u8>(base + <usize>pos, <u8>sym);
        pos++;
        bb >>= <u64>l1;
        bc -= l1;
        continue;
      }
      if (sym == 256) {
        bb >>= <u64>l1;
        bc -= l1;
        result = 1;
        break;
      }
      const li = sym - 257;
      if (li >= 29) { result = -1; this.fail("invalid literal/length code"); break; }
      const le = <i32>unchecked(LENGTH_EXTRA[li]);
      const need = l1 + le;
      if (need > bc) break;
      const length = <i32>unchecked(LENGTH_BASE[li]) + (<i32>(bb >> <u64>l1) & ((1 << le) - 1));
      const db = bb >> <u64>need;
      let d = unchecked(dist[<i32>(db & <u64>((1 << DIST_ROOT_BITS) - 1))]);
      if ((d & ENTRY_LINK) != 0) {
        d = unchecked(dist[<i32>(d >>> 16) + (<i32>(db >> <u64>DIST_ROOT_BITS) & ((1 << <i32>((d >>> 8) & 0xff)) - 1))]);
      }
      const l2 = <i32>(d & 0xf);
      if (l2 == 0) { result = -1; this.fail("invalid distance code"); break; }
      if (need + l2 > bc) break;
      const ds = <i32>(d >>> 16);
      if (ds >= 30) { result = -1; this.fail("invalid distance code"); break; }
      const de = <i32>unchecked(DIST_EXTRA[ds]);
      const total = need + l2 + de;
      if (total > bc) break;
      const distance = <i32>unchecked(DIST_BASE[ds]) + (<i32>(db >> <u64>l2) & ((1 << de) - 1));
      if (distance > pos - floor) { result = -1; this.fail("invalid distance too far back"); break; }
      bb >>= <u64>total;
      bc -= total;
      const dst = base + <usize>pos;
      const src = dst - <usize>distance;
      if (distance >= length) {
        memory.copy(dst, src, <usize>length);
      } else {
        for (let i = 0; i < length; i++) store<u8>(dst + <usize>i, load<u8>(src + <usize>i));
      }
      pos += length;
    }
    this.bitBuf = bb;
    this.bitCount = bc;
    this.inPtr = ip;
    this.pos = pos;
    return result;
  }

  // Folds the output since the last fold into the member's CRC and size.
  private foldCrc(base: usize): void {
    const n = this.pos - this.crcFrom;
    if (n <= 0) return;
    if (this.format == FORMAT_GZIP) this.crc = crc32(this.crc, base + <usize>this.crcFrom, <usize>n);
    this.memberOut += <u64>n;
    this.crcFrom = this.pos;
  }

  // @ts-ignore: decorator
  @inline
  private refill(): void {
    let bb = this.bitBuf;
    let bc = this.bitCount;
    let ip = this.inPtr;
    const ie = this.inEnd;
    while (bc <= 56 && ip < ie) {
      bb |= <u64>load<u8>(ip) << <u64>bc;
      ip++;
      bc += 8;
    }
    this.bitBuf = bb;
    this.bitCount = bc;
    this.inPtr = ip;
  }

  // @ts-ignore: decorator
  @inline
  private consume(n: i32): void {
    this.bitBuf >>= <u64>n;
    this.bitCount -= n;
  }

  // A whole byte (the bit buffer is byte-aligned here): from the bit buffer first, else the input; -1 if none.
  private nextByte(): i32 {
    if (this.bitCount >= 8) {
      const b = <i32>(this.bitBuf & 0xff);
      this.consume(8);
      return b;
    }
    if (this.inPtr < this.inEnd) {
      const b = <i32>load<u8>(this.inPtr);
      this.inPtr++;
      return b;
    }
    return -1;
  }

  private fail(message: string): i32 {
    if (this.state != S_ERROR) {
      this.state = S_ERROR;
      this.error = message;
    }
    return INFLATE_ERROR;
  }

  private failCode(message: string): i32 {
    this.fail(message);
    return -1;
  }
}

/** Receives decompressed bytes from inflateInto. */
export abstract class ByteSink {
  /** false: the sink takes no more (a body that inflates beyond what it holds), and inflating stops. */
  abstract write(ptr: usize, len: i32): bool;
}

/** Decodes one pushed chunk completely into `sink`; false on error (see dec.error) or when the sink is full. */
export function inflateInto(dec: GzipDecoder, ptr: usize, len: i32, sink: ByteSink): bool {
  dec.push(ptr, len);
  while (true) {
    const st = dec.pull();
    if (dec.outLen > 0 && !sink.write(dec.outPtr, dec.outLen)) return false;
    if (st == INFLATE_MORE_OUTPUT) continue;
    return st != INFLATE_ERROR;
  }
  return false; // unreachable
}
