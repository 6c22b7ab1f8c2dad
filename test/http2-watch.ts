// Watches the HTTP/2 client sessions this process opens from now on (grpc-js's, i.e. the host's gRPC
// callouts, which call node:http2 connect at connection time): streams opened, streams that ended in an
// RST_STREAM (sent or received, any error code other than NO_ERROR) and GOAWAY frames received. An
// observer only: sessions and streams behave as they would without it.
import http2 from "node:http2";

export interface Http2Watch {
  streams: number;
  resets: number;
  goaways: number;
  /** Stops watching new sessions (open ones keep counting). */
  stop(): void;
}

export function watchHttp2Clients(): Http2Watch {
  const connect = http2.connect;
  const watch: Http2Watch = { streams: 0, resets: 0, goaways: 0, stop: () => void (http2.connect = connect) };
  http2.connect = function (this: unknown, ...args: Parameters<typeof connect>) {
    const session = connect.apply(this, args);
    session.on("goaway", () => watch.goaways++);
    const request = session.request;
    session.request = function (this: http2.ClientHttp2Session, ...a: Parameters<typeof request>) {
      const stream = request.apply(this, a);
      watch.streams++;
      stream.on("close", () => {
        if (stream.rstCode !== undefined && stream.rstCode !== http2.constants.NGHTTP2_NO_ERROR) watch.resets++;
      });
      return stream;
    };
    return session;
  } as typeof connect;
  return watch;
}
