// Worker thread of the EPP soak: the open-loop client, off the thread that runs `aigw run` (the gateway,
// the EPP and the simulators share that one), so the load generator does not take the data plane's time.
//   → {url, model, ratePerSecond, durationMs}  ← {result}
import { parentPort } from "node:worker_threads";

parentPort.once("message", async ({ url, model, ratePerSecond, durationMs }) => {
  const latencies = [];
  let sent = 0;
  let failures = 0;
  let eppFailures = 0;
  let eppTimeouts = 0;
  let firstFailure;
  const pending = new Set();
  const one = async (i) => {
    const body = JSON.stringify({ model, messages: [{ role: "user", content: `soak request ${i}: say ok` }], max_tokens: 2 });
    const t0 = performance.now();
    let status = 0;
    let text = "";
    try {
      const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body });
      status = res.status;
      text = await res.text();
    } catch (err) {
      text = `${err.message}${err.cause ? `: ${err.cause.message ?? err.cause}` : ""}`;
    }
    latencies.push(performance.now() - t0);
    if (status === 200) return;
    failures++;
    if (/endpoint.picker/i.test(text)) eppFailures++;
    if (/no answer from the endpoint picker within/.test(text)) eppTimeouts++;
    firstFailure ??= `${status} ${text.slice(0, 200)}`;
  };
  const start = performance.now();
  while (performance.now() - start < durationMs) {
    const due = Math.floor(((performance.now() - start) / 1000) * ratePerSecond);
    while (sent < due) {
      const p = one(sent++).finally(() => pending.delete(p));
      pending.add(p);
    }
    await new Promise((r) => setTimeout(r, 2));
  }
  const elapsed = performance.now() - start;
  await Promise.all(pending);
  latencies.sort((x, y) => x - y);
  const q = (p) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? NaN;
  parentPort.postMessage({
    requests: sent,
    rate: (sent / elapsed) * 1000,
    ok: sent - failures,
    failures,
    eppFailures,
    eppTimeouts,
    firstFailure,
    p50Ms: q(0.5),
    p99Ms: q(0.99),
  });
});
