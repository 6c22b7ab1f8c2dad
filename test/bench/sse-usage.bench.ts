// SSE usage scanning (assembly/gateway/response/sse.ts) in ns per event and MB/s on realistic OpenAI
// chat.completion.chunk streams of 100 and 1,000 tokens (~260 B per event, usage:null in every chunk, a final
// usage chunk and [DONE]), beside the JavaScript way — split each event and JSON.parse it — in the same run.
// Goal: ≤ 200 ns per event.
import { expect, it } from "vitest";
import { loadLogicModule } from "../assembly/gateway/logic-module.js";
import { chatStreamEvents } from "../assembly/gateway/response/sse-fixtures.js";

interface Row {
  name: string;
  events: number;
  bytes: number;
  nsPerEvent: number;
}

/** Median over `runs` of the time per call of fn, each run repeating fn until ≥ minMs. */
function measure(fn: () => void, runs = 7, minMs = 150): number {
  fn();
  const samples: number[] = [];
  for (let r = 0; r < runs; r++) {
    let n = 0;
    const t0 = performance.now();
    let dt = 0;
    do {
      fn();
      n++;
      dt = performance.now() - t0;
    } while (dt < minMs);
    samples.push((dt * 1e6) / n);
  }
  samples.sort((a, b) => a - b);
  return samples[samples.length >> 1];
}

it("SSE usage scanning: wasm scanner vs split + JSON.parse", () => {
  const m = loadLogicModule("logic-response");
  const rows: Row[] = [];
  for (const tokens of [100, 1000]) {
    const events = chatStreamEvents({ tokens, promptTokens: 25 }).map((e) => Buffer.from(e));
    const total = events.reduce((s, e) => s + e.length, 0);
    const stream = Buffer.concat(events);
    const expected = BigInt(tokens);

    // 1. Whole stream in wasm memory, one feed() per event from inside wasm: the scanner's own cost.
    const streamPtr = m.put(stream);
    const lens = Buffer.alloc(events.length * 4);
    events.forEach((e, i) => lens.writeInt32LE(e.length, i * 4));
    const lensPtr = m.put(lens);
    const h = m.exports.sseNew(0);
    const rounds = Math.max(1, Math.floor(20000 / events.length));
    const inWasm =
      measure(() => {
        expect(m.exports.sseScanRounds(h, streamPtr, stream.length, lensPtr, events.length, rounds)).toBe(expected * BigInt(rounds));
      }) / rounds;
    rows.push({ name: `wasm scan, ${tokens} tokens`, events: events.length, bytes: total, nsPerEvent: inWasm / events.length });

    // 2. As a host delivers it: copy each event into wasm memory, then one exported call per event.
    const chunkPtr = m.put(Buffer.alloc(4096));
    const fed = measure(() => {
      m.exports.sseReset(h);
      let view = new Uint8Array(m.memory.buffer);
      for (const e of events) {
        if (view.buffer !== m.memory.buffer) view = new Uint8Array(m.memory.buffer);
        view.set(e, chunkPtr);
        m.exports.sseFeed(h, chunkPtr, e.length);
      }
      m.exports.sseFinish(h);
    });
    m.exports.sseDescribe(h);
    expect(JSON.parse(m.outText())).toMatchObject({ output: tokens, input: 25, done: true });
    rows.push({ name: `wasm copy+feed per event, ${tokens} tokens`, events: events.length, bytes: total, nsPerEvent: fed / events.length });

    // 3. JavaScript: decode each event, split off `data: `, JSON.parse, read usage and model.
    let jsOutput = 0;
    const js = measure(() => {
      let model = "";
      for (const e of events) {
        const text = e.toString("utf8");
        for (const line of text.split("\n")) {
          if (!line.startsWith("data:")) continue;
          const payload = line.slice(line[5] === " " ? 6 : 5);
          if (payload === "[DONE]") continue;
          let obj: any;
          try {
            obj = JSON.parse(payload);
          } catch {
            continue;
          }
          if (obj.model) model = obj.model;
          if (obj.usage) jsOutput = obj.usage.completion_tokens;
        }
      }
      if (!model) throw new Error("no model");
    });
    expect(jsOutput).toBe(tokens);
    rows.push({ name: `JS split + JSON.parse, ${tokens} tokens`, events: events.length, bytes: total, nsPerEvent: js / events.length });
    m.free(streamPtr);
    m.free(lensPtr);
    m.free(chunkPtr);
  }

  const lines = ["", "| measurement | events | bytes/event | ns/event | MB/s | JS ÷ this |", "|---|---:|---:|---:|---:|---:|"];
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i];
    const jsRow = rows[Math.floor(i / 3) * 3 + 2];
    const mbps = (r.bytes / r.events / r.nsPerEvent) * 1e3;
    lines.push(
      `| ${r.name} | ${r.events} | ${(r.bytes / r.events).toFixed(0)} | ${r.nsPerEvent.toFixed(0)} | ${mbps.toFixed(0)} | ${(jsRow.nsPerEvent / r.nsPerEvent).toFixed(1)}× |`,
    );
  }
  lines.push("", "goal: ≤ 200 ns per event");
  console.log(lines.join("\n"));
  for (const r of rows) expect(r.nsPerEvent).toBeGreaterThan(0);
});
