// The HttpFilterSink contract as the data plane implements it: filters that stop and buffer, rewrite
// headers and bodies, answer locally (through their own response path, as Envoy's encoder chain does),
// reset, or throw — and complete() reaching every stream exactly once.
import http from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import type { HeaderList, HttpFilterFactory } from "../../src-host/dataplane-api/http-filter.js";
import {
  cluster,
  config,
  echoed,
  echoUpstream,
  gateway,
  request,
  route,
  setHeader,
  startUpstream,
  testFilter,
  until,
  without,
  type FilterRecord,
  type Upstream,
} from "./helpers.js";

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()!();
});

async function setup(filter: HttpFilterFactory, up?: Upstream) {
  const upstream = up ?? (await echoUpstream("up"));
  const gw = await gateway(config([route("r", "up")], [cluster("up", [upstream])]), { filter });
  cleanup.push(
    () => upstream.close(),
    () => gw.close(),
  );
  return { gw, upstream };
}

function expectCompletedOnce(rec: FilterRecord, streams: number) {
  expect(rec.streams).toBe(streams);
  expect([...rec.completes.values()]).toEqual(Array(streams).fill(1));
}

/** Connection outcome of a request whose stream may be reset. */
function outcome(port: number, path = "/"): Promise<{ kind: "response" | "aborted" | "error"; status?: number; body: string }> {
  return new Promise((resolve) => {
    let body = "";
    const req = http.get({ host: "127.0.0.1", port, path, agent: false }, (res) => {
      res.on("data", (d) => (body += d));
      res.on("error", () => {});
      res.on("close", () => resolve({ kind: res.complete ? "response" : "aborted", status: res.statusCode, body }));
    });
    req.on("error", () => resolve({ kind: "error", body }));
  });
}

const text = (d: Uint8Array) => Buffer.from(d).toString();

describe("buffering filters", () => {
  it("holds headers, buffers the request body, rewrites both, and content-length follows the new body", async () => {
    const filter = testFilter((sink) => {
      let held: HeaderList = [];
      const chunks: Uint8Array[] = [];
      return {
        requestHeaders: (h) => {
          held = h;
        },
        requestData: (d, eos) => {
          chunks.push(d);
          if (!eos) return;
          const body = Buffer.from(text(Buffer.concat(chunks)).replace('"model":"a"', '"model":"a-much-longer-name"'));
          sink.forwardRequestHeaders(setHeader(held, "x-ai-eg-model", "a"), false);
          sink.forwardRequestData(body, true);
        },
      };
    });
    const { gw } = await setup(filter);
    const r = echoed(
      await request(gw.listenerAddress.port, "/v1/chat/completions", {
        body: '{"model":"a","messages":[]}',
        headers: { "content-type": "application/json" },
      }),
    );
    expect(r.body).toBe('{"model":"a-much-longer-name","messages":[]}');
    expect(r.headers["content-length"]).toBe(String(r.body!.length));
    expect(r.headers["x-ai-eg-model"]).toBe("a");
    expectCompletedOnce(filter.rec, 1);
  });

  it("streams chunked to the upstream when the filter removed content-length", async () => {
    const filter = testFilter((sink) => ({
      requestHeaders: (h, eos) => sink.forwardRequestHeaders(without(h, "content-length"), eos),
      requestData: (d, eos) => sink.forwardRequestData(Buffer.from(text(d).toUpperCase()), eos),
    }));
    const { gw } = await setup(filter);
    const r = echoed(await request(gw.listenerAddress.port, "/", { body: "abc", headers: { "content-length": "3" } }));
    expect(r.body).toBe("ABC");
    expect(r.headers["content-length"]).toBeUndefined();
    expect(r.headers["transfer-encoding"]).toBe("chunked");
  });

  it("buffers and rewrites the response, recomputing content-length", async () => {
    const filter = testFilter((sink) => {
      let held: HeaderList = [];
      const chunks: Uint8Array[] = [];
      return {
        responseHeaders: (h) => {
          held = h;
        },
        responseData: (d, eos) => {
          chunks.push(d);
          if (!eos) return;
          const body = Buffer.from(`wrapped(${text(Buffer.concat(chunks))})`);
          sink.forwardResponseHeaders(setHeader(held, "x-rewritten", "1"), false);
          sink.forwardResponseData(body, true);
        },
      };
    });
    const up = await startUpstream((_req, res) => {
      res.writeHead(200, { "content-length": "5", "content-type": "text/plain" });
      res.end("hello");
    });
    const { gw } = await setup(filter, up);
    const r = await request(gw.listenerAddress.port, "/");
    expect(r.text).toBe("wrapped(hello)");
    expect(r.headers["content-length"]).toBe("14");
    expect(r.headers["x-rewritten"]).toBe("1");
  });

  it("passes request and response trailers through", async () => {
    const up = await startUpstream((req, res) => {
      req.resume();
      req.on("end", () => {
        res.writeHead(200, { trailer: "x-upstream-trailer" });
        res.write("body");
        res.addTrailers({ "x-upstream-trailer": `saw ${req.trailers["x-client-trailer"]}` });
        res.end();
      });
    });
    const { gw } = await setup(
      testFilter(() => ({})),
      up,
    );
    const trailers = await new Promise<http.IncomingHttpHeaders>((resolve, reject) => {
      const req = http.request({ host: "127.0.0.1", port: gw.listenerAddress.port, method: "POST", path: "/", agent: false }, (res) => {
        res.resume();
        res.on("end", () => resolve(res.trailers));
      });
      req.on("error", reject);
      req.write("data");
      req.addTrailers({ "x-client-trailer": "t1" });
      req.end();
    });
    expect(trailers["x-upstream-trailer"]).toBe("saw t1");
  });
});

describe("local replies", () => {
  it("runs a local reply from the request path through the filter's response path", async () => {
    const filter = testFilter((sink, rec) => ({
      requestHeaders: () => {
        sink.localReply(429, [["x-reason", "quota"]], Buffer.from('{"error":"slow down"}'), "rate limited");
      },
      responseHeaders: (h, eos) => {
        rec.events.push(`responseHeaders ${h.find(([n]) => n === ":status")![1]} eos=${eos}`);
        sink.forwardResponseHeaders(setHeader(h, "x-seen-by-filter", "yes"), eos);
      },
      responseData: (d, eos) => {
        rec.events.push(`responseData ${d.length} eos=${eos}`);
        sink.forwardResponseData(d, eos);
      },
    }));
    const { gw, upstream } = await setup(filter);
    const r = await request(gw.listenerAddress.port, "/", { body: "ignored" });
    expect(r.status).toBe(429);
    expect(r.text).toBe('{"error":"slow down"}');
    expect(r.headers["x-reason"]).toBe("quota");
    expect(r.headers["x-seen-by-filter"]).toBe("yes");
    expect(r.headers["content-type"]).toBe("text/plain");
    expect(filter.rec.events).toEqual(["responseHeaders 429 eos=false", "responseData 21 eos=true"]);
    expect(upstream.requests.length).toBe(0);
    await until(() => gw.accessLog.length === 1);
    expect(gw.accessLog[0]).toMatch(/ 429 - .* rate_limited r$/);
    expectCompletedOnce(filter.rec, 1);
  });

  it("abandons an upstream request already under way", async () => {
    let upstreamGone = false;
    const up = await startUpstream((req, res) => {
      req.resume();
      res.on("close", () => (upstreamGone = true)); // never answered: closes only if abandoned
    });
    const filter = testFilter((sink) => ({
      requestData: (d, eos) => {
        if (!eos) return sink.forwardRequestData(d, eos);
        // Answer once the upstream is working on the request.
        void until(() => up.requests.length === 1).then(() => sink.localReply(413, [], Buffer.from("too large"), "request_payload_too_large"));
      },
    }));
    const { gw } = await setup(filter, up);
    const r = await request(gw.listenerAddress.port, "/", { body: "x".repeat(100) });
    expect(r.status).toBe(413);
    expect(r.text).toBe("too large");
    await until(() => upstreamGone, 5000, "the upstream request to be abandoned");
    expectCompletedOnce(filter.rec, 1);
  });

  it("replaces held upstream response headers with a direct reply, not re-entering the filter", async () => {
    const filter = testFilter((sink, rec) => ({
      responseHeaders: (h) => {
        rec.events.push(`responseHeaders ${h[0][1]}`);
        sink.localReply(500, [], Buffer.from("bad upstream answer"), "filter_rejected_response");
      },
      responseData: () => {
        rec.events.push("responseData");
      },
    }));
    const { gw } = await setup(filter);
    const r = await request(gw.listenerAddress.port, "/");
    expect(r.status).toBe(500);
    expect(r.text).toBe("bad upstream answer");
    expect(filter.rec.events).toEqual(["responseHeaders 200"]);
    expectCompletedOnce(filter.rec, 1);
  });

  it("resets the stream when a local reply comes after response headers reached the client", async () => {
    const filter = testFilter((sink) => ({
      responseData: (d) => {
        sink.forwardResponseData(d.subarray(0, 5), false);
        setTimeout(() => sink.localReply(500, [], Buffer.from("too late"), "late reply"), 20);
      },
    }));
    const { gw } = await setup(filter);
    const o = await outcome(gw.listenerAddress.port);
    expect(o.kind).toBe("aborted");
    expect(o.status).toBe(200);
    expect(o.body).toBe('{"ups');
    await until(() => gw.accessLog.length === 1);
    expect(gw.accessLog[0]).toMatch(/ 200 - .* late_reply r$/);
    expectCompletedOnce(filter.rec, 1);
  });

  it("sends router replies (no route) through the filter too", async () => {
    const filter = testFilter((sink, rec) => ({
      responseHeaders: (h, eos) => {
        rec.events.push(`responseHeaders ${h[0][1]} eos=${eos}`);
        sink.forwardResponseHeaders(h, eos);
      },
    }));
    const gw = await gateway(config([route("only", "up", { path: "/only" })], [cluster("up", [{ address: "127.0.0.1", port: 9 }])]), { filter });
    cleanup.push(() => gw.close());
    const r = await request(gw.listenerAddress.port, "/elsewhere");
    expect(r.status).toBe(404);
    expect(filter.rec.events).toEqual(["responseHeaders 404 eos=true"]);
    expectCompletedOnce(filter.rec, 1);
  });
});

describe("resets and failures", () => {
  it("closes the connection when the filter resets the stream", async () => {
    const filter = testFilter((sink) => ({
      requestHeaders: () => sink.reset("wasm_close_stream"),
    }));
    const { gw, upstream } = await setup(filter);
    const o = await outcome(gw.listenerAddress.port);
    expect(o.kind).toBe("error");
    expect(upstream.requests.length).toBe(0);
    await until(() => gw.accessLog.length === 1);
    expect(gw.accessLog[0]).toMatch(/ 0 LR .* wasm_close_stream r$/);
    expectCompletedOnce(filter.rec, 1);
  });

  it("never re-enters a filter from inside its own callback (reset, local reply, misuse)", async () => {
    let inside = false;
    let reentered = 0;
    const guard = (f: () => void) => () => {
      if (inside) reentered++;
      inside = true;
      try {
        f();
      } finally {
        inside = false;
      }
    };
    const factory: HttpFilterFactory = {
      createStream(sink) {
        return {
          requestHeaders: (h) => {
            const p = h.find(([n]) => n === ":path")![1];
            guard(() => {
              if (p === "/reset") sink.reset("dropped");
              else if (p === "/reply") sink.localReply(403, [], Buffer.from("no"), "denied");
              else sink.forwardRequestData(Buffer.from("x"), true); // misuse: data before headers
            })();
          },
          requestData: guard(() => {}),
          requestTrailers: guard(() => {}),
          responseHeaders: (h, eos) => guard(() => sink.forwardResponseHeaders(h, eos))(),
          responseData: (d, eos) => guard(() => sink.forwardResponseData(d, eos))(),
          responseTrailers: guard(() => {}),
          complete: guard(() => {}),
        };
      },
    };
    const { gw } = await setup(factory);
    for (const p of ["/reset", "/reply", "/misuse"]) await outcome(gw.listenerAddress.port, p);
    await until(() => gw.accessLog.length === 3);
    expect(reentered).toBe(0);
  });

  it("answers 500 when the filter throws, and logs why", async () => {
    const filter = testFilter(() => ({
      requestHeaders: () => {
        throw new Error("boom");
      },
    }));
    const { gw } = await setup(filter);
    const r = await request(gw.listenerAddress.port, "/");
    expect(r.status).toBe(500);
    expect(gw.logs.join("\n")).toMatch(/filter threw: Error: boom/);
    expectCompletedOnce(filter.rec, 1);
  });

  it("answers 500 when the filter cannot create its stream", async () => {
    const { gw, upstream } = await setup({
      createStream() {
        throw new Error("no VM");
      },
    });
    const r = await request(gw.listenerAddress.port, "/");
    expect(r.status).toBe(500);
    expect(upstream.requests.length).toBe(0);
    expect(gw.logs.join("\n")).toMatch(/filter threw: Error: no VM/);
  });

  it("resets on contract misuse (data before headers) and says so", async () => {
    const filter = testFilter((sink) => ({
      requestHeaders: () => sink.forwardRequestData(Buffer.from("x"), true),
    }));
    const { gw } = await setup(filter);
    const o = await outcome(gw.listenerAddress.port);
    expect(o.kind).toBe("error");
    expect(gw.logs.join("\n")).toMatch(/filter misuse: forwardRequestData before forwardRequestHeaders/);
    expectCompletedOnce(filter.rec, 1);
  });

  it("ignores sink calls after the stream completed", async () => {
    let late: (() => void) | undefined;
    const filter = testFilter((sink) => ({
      requestHeaders: (h, eos) => {
        sink.forwardRequestHeaders(h, eos);
        late = () => sink.localReply(500, [], new Uint8Array(0), "late");
      },
    }));
    const { gw } = await setup(filter);
    expect(echoed(await request(gw.listenerAddress.port, "/")).upstream).toBe("up");
    await until(() => gw.accessLog.length === 1);
    late!();
    expect(gw.accessLog.length).toBe(1);
    expectCompletedOnce(filter.rec, 1);
  });

  it("completes every stream exactly once across many concurrent requests", async () => {
    const filter = testFilter((sink) => ({
      requestHeaders: (h, eos) => {
        const path = h.find(([n]) => n === ":path")![1];
        if (path === "/reply") return sink.localReply(403, [], Buffer.from("no"), "denied");
        if (path === "/reset") return sink.reset("dropped");
        sink.forwardRequestHeaders(h, eos);
      },
    }));
    const { gw } = await setup(filter);
    const paths = Array.from({ length: 30 }, (_, i) => ["/ok", "/reply", "/reset"][i % 3]);
    await Promise.all(paths.map((p) => outcome(gw.listenerAddress.port, p)));
    await until(() => gw.accessLog.length === 30, 5000, "30 access log lines");
    expectCompletedOnce(filter.rec, 30);
  });
});

describe("filter state", () => {
  it("shows every wasm.* filter state value in the default access log line", async () => {
    const filter = testFilter((sink) => ({
      requestHeaders: (h, eos) => {
        sink.info.filterState.set("wasm.model", Buffer.from("llama-3"));
        sink.info.filterState.set("wasm.note", Buffer.from("two words"));
        sink.info.filterState.set("other.key", Buffer.from("hidden"));
        sink.forwardRequestHeaders(h, eos);
      },
    }));
    const { gw } = await setup(filter);
    await request(gw.listenerAddress.port, "/");
    await until(() => gw.accessLog.length === 1);
    expect(gw.accessLog[0]).toMatch(/ via_upstream r wasm\.model=llama-3 wasm\.note="two words"$/);
  });
});
