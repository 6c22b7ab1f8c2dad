// The data plane without a filter, for benchmarks and the streaming tests.
import type { HttpFilterFactory } from "../dataplane-api/http-filter.js";

/** A filter that forwards everything unchanged: the data plane without a filter, for benchmarks. */
export const passThroughFilter: HttpFilterFactory = {
  createStream(sink) {
    return {
      requestHeaders: (h, eos) => sink.forwardRequestHeaders(h, eos),
      requestData: (d, eos) => sink.forwardRequestData(d, eos),
      requestTrailers: (t) => sink.forwardRequestTrailers(t),
      responseHeaders: (h, eos) => sink.forwardResponseHeaders(h, eos),
      responseData: (d, eos) => sink.forwardResponseData(d, eos),
      responseTrailers: (t) => sink.forwardResponseTrailers(t),
      complete: () => {},
    };
  },
};
