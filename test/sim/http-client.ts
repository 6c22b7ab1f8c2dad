// A raw HTTP client for the simulator tests: no automatic decompression, control over chunked bodies,
// and the arrival time of every body chunk.
import http from "node:http";

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  /** Each body chunk with its arrival time in ms since the request was sent. */
  chunks: Array<{ at: number; data: Buffer }>;
}

export interface RawRequest {
  method?: string;
  path: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** Send the body with Transfer-Encoding: chunked instead of Content-Length. */
  chunked?: boolean;
  /** Called for each chunk as it arrives. */
  onChunk?: (data: Buffer, at: number) => void;
}

export function request(base: { address: string; port: number }, r: RawRequest): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const headers: Record<string, string> = { ...(r.headers ?? {}) };
    const body = r.body === undefined ? undefined : Buffer.from(r.body);
    if (body && !r.chunked) headers["content-length"] = String(body.length);
    if (r.chunked) headers["transfer-encoding"] = "chunked";
    const req = http.request(
      { host: base.address, port: base.port, method: r.method ?? (body ? "POST" : "GET"), path: r.path, headers, agent: false },
      (res) => {
        const chunks: RawResponse["chunks"] = [];
        res.on("data", (data: Buffer) => {
          const at = performance.now() - start;
          chunks.push({ at, data });
          r.onChunk?.(data, at);
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks.map((c) => c.data)), chunks }));
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    if (body) req.write(body);
    req.end();
  });
}

export const b64 = (s: string | Buffer) => Buffer.from(s).toString("base64");
