// Bodies stream through without buffering: SSE events arrive as they are sent, large bodies pass both
// ways intact, a slow reader or writer pushes back on the other side, and a client that goes away
// takes its upstream request with it.
import { createHash } from "node:crypto";
import http from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import { passThroughFilter } from "../../src-host/gateway/pass-through.js";
import { cluster, config, gateway, request, route, startUpstream, testFilter, until, type Upstream } from "./helpers.js";

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()!();
});

async function through(up: Upstream, opts: Parameters<typeof gateway>[1] = {}) {
  const gw = await gateway(config([route("r", "up")], [cluster("up", [up])]), opts);
  cleanup.push(
    () => up.close(),
    () => gw.close(),
  );
  return gw;
}

describe("streaming", () => {
  it("delivers 20 SSE events sent 200 ms apart one by one, with and without a filter", async () => {
    const up = await startUpstream((req, res) => {
      res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
      let n = 0;
      const t = setInterval(() => {
        res.write(`data: {"n":${n}}\n\n`);
        if (++n === 20) {
          clearInterval(t);
          res.end("data: [DONE]\n\n");
        }
      }, 200);
      req.on("close", () => clearInterval(t));
    });
    const withFilter = await through(up, { filter: passThroughFilter });
    const plain = await gateway(config([route("r", "up")], [cluster("up", [up])]));
    cleanup.push(() => plain.close());

    const arrivals = (port: number) =>
      new Promise<number[]>((resolve, reject) => {
        const times: number[] = [];
        let buf = "";
        http
          .get({ host: "127.0.0.1", port, path: "/v1/chat/completions", agent: false }, (res) => {
            expect(res.headers["content-type"]).toBe("text/event-stream");
            res.setEncoding("utf8");
            res.on("data", (d: string) => {
              buf += d;
              let i: number;
              while ((i = buf.indexOf("\n\n")) >= 0) {
                if (buf.slice(0, i).startsWith('data: {"n"')) times.push(Date.now());
                buf = buf.slice(i + 2);
              }
            });
            res.on("end", () => resolve(times));
          })
          .on("error", reject);
      });
    const [a, b] = await Promise.all([arrivals(withFilter.listenerAddress.port), arrivals(plain.listenerAddress.port)]);
    for (const times of [a, b]) {
      expect(times.length).toBe(20);
      // Buffered delivery would bunch them at the end; incremental delivery keeps the 200 ms rhythm.
      expect(times[19] - times[0]).toBeGreaterThan(3000);
      const gaps = times.slice(1).map((t, i) => t - times[i]);
      expect(gaps.filter((g) => g >= 100).length).toBeGreaterThanOrEqual(17);
    }
  });

  it("streams a 1 MiB request and a 1 MiB response intact through a filter", async () => {
    const body = Buffer.alloc(1 << 20);
    for (let i = 0; i < body.length; i++) body[i] = (i * 131 + (i >> 10)) & 0xff;
    const digest = (b: Buffer) => createHash("sha256").update(b).digest("hex");
    const up = await startUpstream((req, res) => {
      const hash = createHash("sha256");
      let size = 0;
      req.on("data", (c: Buffer) => {
        hash.update(c);
        size += c.length;
      });
      req.on("end", () => {
        res.writeHead(200, { "x-request-sha256": hash.digest("hex"), "x-request-size": String(size) });
        // Reply in 64 KiB writes, reversed bytes, chunked.
        const reply = Buffer.from(body).reverse();
        for (let o = 0; o < reply.length; o += 65536) res.write(reply.subarray(o, o + 65536));
        res.end();
      });
    });
    const gw = await through(up, { filter: passThroughFilter });
    const r = await request(gw.listenerAddress.port, "/v1/chat/completions", { method: "POST", body });
    expect(r.status).toBe(200);
    expect(r.headers["x-request-size"]).toBe(String(body.length));
    expect(r.headers["x-request-sha256"]).toBe(digest(body));
    expect(r.body.length).toBe(body.length);
    expect(digest(r.body)).toBe(digest(Buffer.from(body).reverse()));
    await until(() => gw.accessLog.length === 1);
    expect(gw.accessLog[0]).toContain(` 200 - ${1 << 20} ${1 << 20} `);
  });

  it("pushes back on the upstream while the client does not read", async () => {
    const total = 64 << 20;
    const chunk = Buffer.alloc(64 << 10, 120);
    let written = 0;
    const up = await startUpstream((_req, res) => {
      res.writeHead(200);
      const pump = () => {
        while (written < total) {
          written += chunk.length;
          if (!res.write(chunk)) return void res.once("drain", pump);
        }
        res.end();
      };
      pump();
    });
    const gw = await through(up, { filter: passThroughFilter });
    let received = 0;
    await new Promise<void>((resolve, reject) => {
      http
        .get({ host: "127.0.0.1", port: gw.listenerAddress.port, path: "/", agent: false }, (res) => {
          res.pause();
          setTimeout(() => {
            // Socket and stream buffers hold a few MiB at most; without backpressure it would be all 64.
            expect(written).toBeLessThan(24 << 20);
            res.on("data", (c: Buffer) => (received += c.length));
            res.on("end", resolve);
            res.resume();
          }, 600);
        })
        .on("error", reject);
    });
    expect(received).toBe(total);
  });

  it("pushes back on the client while the upstream does not read", async () => {
    let upstreamReq: http.IncomingMessage | undefined;
    const up = await startUpstream((req, res) => {
      upstreamReq = req;
      req.pause();
      let size = 0;
      req.on("data", (c: Buffer) => (size += c.length));
      req.on("end", () => res.end(String(size)));
    });
    const gw = await through(up, { filter: passThroughFilter });
    const total = 64 << 20;
    const chunk = Buffer.alloc(64 << 10, 97);
    let accepted = 0;
    const reply = new Promise<string>((resolve, reject) => {
      const req = http.request({ host: "127.0.0.1", port: gw.listenerAddress.port, path: "/", method: "POST", agent: false }, (res) => {
        let text = "";
        res.on("data", (d) => (text += d));
        res.on("end", () => resolve(text));
      });
      req.on("error", reject);
      const pump = () => {
        while (accepted < total) {
          accepted += chunk.length;
          if (!req.write(chunk)) return void req.once("drain", pump);
        }
        req.end();
      };
      pump();
    });
    await until(() => upstreamReq !== undefined, 5000, "the upstream request");
    await new Promise((r) => setTimeout(r, 600));
    expect(accepted).toBeLessThan(24 << 20);
    upstreamReq!.resume();
    expect(await reply).toBe(String(total));
  });

  it("aborts the upstream request when the client goes away, and completes the stream once", async () => {
    let upstreamClosed = false;
    const up = await startUpstream((_req, res) => {
      res.writeHead(200, { "content-type": "text/event-stream" });
      const t = setInterval(() => res.write("data: tick\n\n"), 50);
      res.on("close", () => {
        clearInterval(t);
        upstreamClosed = true;
      });
    });
    const filter = testFilter(() => ({}));
    const gw = await through(up, { filter });
    await new Promise<void>((resolve, reject) => {
      const req = http.get({ host: "127.0.0.1", port: gw.listenerAddress.port, path: "/", agent: false }, (res) => {
        res.once("data", () => {
          req.destroy();
          resolve();
        });
      });
      req.on("error", () => {});
      setTimeout(() => reject(new Error("no first event")), 5000);
    });
    await until(() => upstreamClosed, 5000, "the upstream request to close");
    await until(() => gw.accessLog.length === 1);
    expect(gw.accessLog[0]).toMatch(/ 200 DC .* downstream_remote_disconnect r$/);
    expect([...filter.rec.completes.values()]).toEqual([1]);
  });
});
