// Body bytes as the filter reads them: into one arena per VM instead of a fresh block per read, so a body
// costs a VM its size once (the largest it ever read) rather than a body's worth of garbage per request.
// What readBody returns is valid until the next readBody: within the current callback only.
import { Arena, BufferType, readBufferBytes } from "../proxy-wasm";
import { Piece } from "./byte-buffer";

const arena = new Arena();

/** `size` bytes of a body buffer from `start` (the current chunk, or what is buffered); empty when none. */
export function readBody(type: BufferType, start: u32, size: u32): Piece {
  const n = size > 0 ? readBufferBytes(type, start, size, arena) : 0;
  return new Piece(arena.ptr, n > 0 ? <usize>n : 0);
}
