// Worker thread of the gateway benchmark: the upstream model server and the closed-loop load generator,
// kept off the gateway's thread so the data plane has an event loop (a core) of its own.
//   → {cmd:"run", port, path, bodyBytes, concurrency, durationMs, warmupMs}  ← {result}
//   ← {upstreamPort} once the upstream listens
import http from "node:http";
import { parentPort } from "node:worker_threads";

const REPLY = Buffer.from(
  JSON.stringify({
    id: "chatcmpl-bench",
    object: "chat.completion",
    created: 0,
    model: "llama-3",
    choices: [{ index: 0, message: { role: "assistant", content: "ok" }, finish_reason: "stop" }],
    usage: { prompt_tokens: 10, completion_tokens: 1, total_tokens: 11 },
  }),
);

const upstream = http.createServer((req, res) => {
  req.on("data", () => {});
  req.on("end", () => {
    res.writeHead(200, { "content-type": "application/json", "content-length": REPLY.length });
    res.end(REPLY);
  });
});
upstream.keepAliveTimeout = 60_000;
upstream.listen(0, "127.0.0.1", () => parentPort.postMessage({ upstreamPort: upstream.address().port }));

/** A chat request of about `size` bytes: the padding is the user message. */
function chatBody(size) {
  const head = '{"model":"llama-3","messages":[{"role":"user","content":"';
  const tail = '"}],"stream":false}';
  return Buffer.from(head + "x".repeat(Math.max(0, size - head.length - tail.length)) + tail);
}

function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function run({ port, path, bodyBytes, concurrency, durationMs, warmupMs }) {
  const body = chatBody(bodyBytes);
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const start = performance.now();
  const measureFrom = start + warmupMs;
  const end = measureFrom + durationMs;
  const latencies = [];
  let errors = 0;
  let firstError;
  const once = () =>
    new Promise((resolve) => {
      const req = http.request(
        {
          host: "127.0.0.1",
          port,
          path,
          method: "POST",
          agent,
          headers: { "content-type": "application/json", "content-length": body.length },
        },
        (res) => {
          if (res.statusCode !== 200) {
            errors++;
            firstError ??= `status ${res.statusCode}`;
          }
          res.on("data", () => {});
          res.on("end", resolve);
          res.on("error", resolve);
        },
      );
      req.on("error", (err) => {
        errors++;
        firstError ??= err.message;
        resolve();
      });
      req.end(body);
    });
  const loop = async () => {
    for (let t0 = performance.now(); t0 < end; t0 = performance.now()) {
      await once();
      if (t0 >= measureFrom) latencies.push(performance.now() - t0);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, loop));
  agent.destroy();
  const elapsed = performance.now() - measureFrom;
  latencies.sort((a, b) => a - b);
  return {
    requests: latencies.length,
    elapsedMs: elapsed,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    errors,
    firstError,
  };
}

parentPort.on("message", async (msg) => {
  if (msg.cmd === "run") parentPort.postMessage({ result: await run(msg) });
});
