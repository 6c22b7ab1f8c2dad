// Follows one response and collects its token usage, without changing a byte the client receives:
// - text/event-stream: every chunk is scanned once as it passes (SseUsageScanner keeps only the incomplete
//   trailing line), so streaming stays unbuffered and the work per callback is proportional to the chunk;
// - JSON: the body is buffered by Envoy (StopIterationAndBuffer) and read once at the end;
// - content-encoding gzip: the bytes are inflated incrementally (each byte decoded once) into the scanner,
//   while the client still receives the original compressed bytes.

import { ByteBuffer, Piece } from "../byte-buffer";
import { GzipDecoder, FORMAT_GZIP, ByteSink, inflateInto } from "../gzip/inflate";
import { SseUsageScanner } from "../response/sse";
import { TokenUsage, extractJsonUsage } from "../response/usage";

/**
 * The most a buffered gzip'd body is inflated to (a JSON answer read for usage, an error wrapped): a hostile
 * upstream's few compressed kilobytes can stand for gigabytes, which one VM's linear memory must not hold.
 * Above it the usage is not read and an error passes as it came.
 */
export const MAX_INFLATED_BYTES: i32 = 16 << 20;

/** Feeds decompressed bytes to a scanner, or collects them (up to MAX_INFLATED_BYTES) for a body read at the end. */
class Inflated extends ByteSink {
  scanner: SseUsageScanner | null = null;
  readonly collected: ByteBuffer = new ByteBuffer();

  write(ptr: usize, len: i32): bool {
    const scanner = this.scanner;
    if (scanner != null) {
      scanner.feed(ptr, len);
      return true;
    }
    if (this.collected.length + len > MAX_INFLATED_BYTES) return false;
    this.collected.append(ptr, len);
    return true;
  }
}

export class UsageTracker {
  readonly usage: TokenUsage = new TokenUsage();
  /** The response is an event stream (scanned chunk by chunk). */
  streaming: bool = false;
  /** Neither JSON nor an event stream (audio, text): passed on as it comes, no usage read. */
  opaque: bool = false;
  /** Decoding failed or the body was not understood: usage is what was seen so far. */
  broken: bool = false;
  private sse: SseUsageScanner | null = null;
  private gzip: GzipDecoder | null = null;
  private inflated: Inflated | null = null;
  /** What decoded() returned a piece of, alive as long as the tracker. */
  private decodedBytes: ByteBuffer | null = null;

  /** From the response headers. */
  start(contentType: string | null, contentEncoding: string | null): void {
    const type = contentType == null ? "" : contentType.toLowerCase();
    this.streaming = type.includes("text/event-stream");
    if (this.streaming) this.sse = new SseUsageScanner();
    // A response without content-type is read as JSON, as before any other.
    this.opaque = !this.streaming && contentType != null && !type.includes("json");
    if (this.opaque) return;
    if (contentEncoding != null && contentEncoding.trim().toLowerCase() == "gzip") {
      this.gzip = new GzipDecoder(FORMAT_GZIP);
      const sink = new Inflated();
      sink.scanner = this.sse;
      this.inflated = sink;
    }
  }

  /** The body is read whole at its end (JSON), rather than chunk by chunk as it passes. */
  get buffered(): bool {
    return !this.streaming && !this.opaque;
  }

  /** One passing chunk (event streams are scanned, opaque bodies not). */
  chunk(ptr: usize, len: usize): void {
    if (this.broken || len == 0 || this.opaque) return;
    const sse = this.sse!;
    const gzip = this.gzip;
    if (gzip != null) {
      if (!inflateInto(gzip, ptr, <i32>len, this.inflated!)) this.broken = true;
    } else {
      sse.feed(ptr, <i32>len);
    }
  }

  /** End of an event stream. */
  finishStream(): void {
    const sse = this.sse;
    if (sse == null) return;
    sse.finish();
    this.usage.merge(sse.usage);
  }

  /**
   * A whole buffered body as the client would read it: the bytes themselves, or inflated when gzip'd (into
   * a buffer of its own, apart from what the usage read collected); null when they do not inflate or
   * inflate beyond MAX_INFLATED_BYTES.
   */
  decoded(ptr: usize, len: usize): Piece | null {
    if (this.gzip == null || len == 0) return new Piece(ptr, len);
    const sink = new Inflated();
    if (!inflateInto(new GzipDecoder(FORMAT_GZIP), ptr, <i32>len, sink)) return null;
    // The piece is only an address: the tracker holds the bytes, or the collector could reuse them while
    // the caller still reads them (the error wrapping allocates its output after measuring them).
    this.decodedBytes = sink.collected;
    return new Piece(sink.collected.dataStart, <usize>sink.collected.length);
  }

  /** A whole buffered (non-streaming) body. */
  body(ptr: usize, len: usize): void {
    const gzip = this.gzip;
    if (gzip != null) {
      const sink = this.inflated!;
      if (len > 0 && !inflateInto(gzip, ptr, <i32>len, sink)) {
        this.broken = true;
        return;
      }
      const bytes = sink.collected;
      if (bytes.length > 0 && !extractJsonUsage(bytes.dataStart, <usize>bytes.length, this.usage)) this.broken = true;
      return;
    }
    if (len > 0 && !extractJsonUsage(ptr, len, this.usage)) this.broken = true;
  }
}
