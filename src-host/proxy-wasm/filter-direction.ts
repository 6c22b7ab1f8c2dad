// Envoy's filter manager, reduced to one filter and one direction (decode or encode): the iteration
// state a filter's status leaves behind, the data it buffers while stopped, when later frames reach the
// filter and when they are forwarded. Mirrors ActiveStreamFilterBase (commonHandleAfter*Callback,
// commonHandleBufferData, commonContinue) and FilterManager::decodeData's handleDataIfStopAll.
import type { HeaderList } from "../dataplane-api/http-filter.js";
import { DataStatus, HeadersStatus, TrailersStatus } from "./abi.js";
import { ByteBuf } from "./byte-buf.js";

const enum Iteration {
  Continue,
  StopSingle,
  StopAllBuffer,
  StopAllWatermark,
}

/** The filter's side: each call returns the (already converted) status; afterCall runs what the call deferred. */
export interface DirectionFilter {
  headers(headers: HeaderList, endOfStream: boolean): HeadersStatus;
  /** data is the provided chunk (or the buffered data on a replay); the filter may change it. */
  data(data: ByteBuf, endOfStream: boolean): DataStatus;
  trailers(trailers: HeaderList): TrailersStatus;
  afterCall(): void;
}

/** Where frames the filter lets through go (the next filter: the router, or the client). */
export interface DirectionOutput {
  headers(headers: HeaderList, endOfStream: boolean): void;
  data(data: Uint8Array, endOfStream: boolean): void;
  trailers(trailers: HeaderList): void;
}

export class FilterDirection {
  /** The stream's header map for this direction, once it arrived. */
  headers: HeaderList | undefined;
  trailers: HeaderList | undefined;
  /** Data held for the filter (Envoy's decoding/encoding buffer). */
  buffered: ByteBuf | undefined;
  /** The peer ended this direction (end_stream seen). */
  complete = false;
  private iteration = Iteration.Continue;
  private headersContinued = false;
  private trailersPending = false;
  private endedByFilter = false;
  /** Watermark mode: buffering beyond the limit applies flow control instead of failing. */
  private streaming = true;

  constructor(
    private readonly filter: DirectionFilter,
    private readonly out: DirectionOutput,
    private readonly limitBytes: number,
    private readonly tooLarge: () => void,
    /** True once the stream stopped iterating this direction (local reply, reset, completion). */
    private readonly halted: () => boolean,
  ) {}

  get stoppedAll(): boolean {
    return this.iteration === Iteration.StopAllBuffer || this.iteration === Iteration.StopAllWatermark;
  }

  onHeaders(headers: HeaderList, endOfStream: boolean): void {
    if (this.halted() || this.headers) return;
    this.headers = headers;
    this.complete = endOfStream;
    const status = this.filter.headers(headers, endOfStream);
    if (!this.halted()) {
      switch (status) {
        case HeadersStatus.Continue:
          this.headersContinued = true;
          this.out.headers(headers, endOfStream);
          break;
        case HeadersStatus.ContinueAndEndStream:
          this.headersContinued = true;
          this.endedByFilter = true;
          this.out.headers(headers, true);
          break;
        case HeadersStatus.StopIteration:
          this.iteration = Iteration.StopSingle;
          break;
        case HeadersStatus.StopAllIterationAndBuffer:
          this.iteration = Iteration.StopAllBuffer;
          break;
        default:
          this.iteration = Iteration.StopAllWatermark;
      }
    }
    this.filter.afterCall();
  }

  onData(chunk: Uint8Array, endOfStream: boolean): void {
    // Frames after the end of this direction (e.g. upstream data after a local reply replaced it) are dropped.
    if (this.halted() || this.endedByFilter || !this.headers || this.complete) return;
    if (endOfStream) this.complete = true;
    if (this.stoppedAll) {
      // The filter does not see data while stopped-all; it is held and replayed on continue.
      (this.buffered ??= new ByteBuf()).append(chunk);
      this.streaming = this.iteration === Iteration.StopAllWatermark;
      this.checkLimit();
      return;
    }
    this.runData(new ByteBuf(chunk), endOfStream);
  }

  onTrailers(trailers: HeaderList): void {
    if (this.halted() || this.endedByFilter || !this.headers || this.complete) return;
    this.trailers = trailers;
    this.trailersPending = true;
    this.complete = true;
    if (this.stoppedAll) return;
    this.runTrailers();
  }

  /** The filter adds trailers at the end of the body (addDecodedTrailers / addEncodedTrailers). */
  addTrailers(): HeaderList {
    this.trailers = [];
    this.trailersPending = true;
    return this.trailers;
  }

  /** The filter moves data into the buffer itself (addDecodedData, non-streaming); false = over the limit. */
  addBufferedData(data: ByteBuf): boolean {
    (this.buffered ??= new ByteBuf()).moveFrom(data);
    this.streaming = false;
    return this.checkLimit();
  }

  /** continueDecoding / continueEncoding. */
  continue(): void {
    if (this.halted() || this.iteration === Iteration.Continue) return;
    const stoppedAll = this.stoppedAll;
    this.iteration = Iteration.Continue;
    if (!this.headersContinued) {
      this.headersContinued = true;
      this.out.headers(this.headers!, this.complete && !this.buffered && !this.trailersPending);
      if (this.halted()) return;
    }
    const hadTrailers = this.trailersPending;
    if (this.buffered) {
      const eos = this.complete && !hadTrailers;
      if (stoppedAll) {
        this.runData(this.buffered, eos); // iterate_from_current_filter_: the filter sees the held data
      } else {
        const b = this.buffered;
        this.buffered = undefined;
        this.out.data(b.bytes(), eos);
      }
    }
    if (hadTrailers && !this.halted()) {
      if (stoppedAll) {
        this.runTrailers();
      } else if (this.trailersPending) {
        this.trailersPending = false;
        this.out.trailers(this.trailers!);
      }
    }
  }

  private runData(data: ByteBuf, endOfStream: boolean): void {
    const status = this.filter.data(data, endOfStream);
    if (!this.halted()) this.afterData(status, data, endOfStream);
    this.filter.afterCall();
  }

  private afterData(status: DataStatus, data: ByteBuf, endOfStream: boolean): void {
    if (status === DataStatus.Continue) {
      if (this.iteration === Iteration.StopSingle) {
        this.moveToBuffer(data);
        this.continue();
        return;
      }
      if (data === this.buffered) this.buffered = undefined;
      this.out.data(data.bytes(), endOfStream && !this.trailersPending);
      if (endOfStream && this.trailersPending && !this.halted()) {
        this.trailersPending = false;
        this.out.trailers(this.trailers!);
      }
      return;
    }
    this.iteration = Iteration.StopSingle;
    if (status === DataStatus.StopIterationAndBuffer || status === DataStatus.StopIterationAndWatermark) {
      this.streaming = status === DataStatus.StopIterationAndWatermark;
      this.moveToBuffer(data);
      this.checkLimit();
    } else if (this.complete && !this.trailersPending && !this.buffered) {
      // NoBuffer at the end: an empty buffer so a later continue still ends the stream.
      this.buffered = new ByteBuf();
    }
  }

  private runTrailers(): void {
    const status = this.filter.trailers(this.trailers!);
    if (!this.halted()) {
      if (status === TrailersStatus.Continue) {
        if (this.iteration === Iteration.StopSingle) {
          this.continue();
        } else {
          this.trailersPending = false;
          this.out.trailers(this.trailers!);
        }
      } else {
        this.iteration = Iteration.StopSingle;
      }
    }
    this.filter.afterCall();
  }

  private moveToBuffer(data: ByteBuf): void {
    if (data === this.buffered) return;
    (this.buffered ??= new ByteBuf()).moveFrom(data);
  }

  /** Over the limit while not streaming: the buffer-limit reply (413 / 500). Returns false then. */
  private checkLimit(): boolean {
    if (this.streaming || !this.buffered || this.buffered.length <= this.limitBytes) return true;
    this.tooLarge();
    return false;
  }
}
