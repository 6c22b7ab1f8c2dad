// The multipart/form-data scan of the audio endpoints (assembly/gateway/request/multipart.ts): a form with
// `model` first and a 1 MiB and 25 MiB file (binary with a line feed every 251 bytes on average, as audio
// has), in GB/s beside Node's Buffer.indexOf of the closing delimiter over the same bytes (memchr-class
// native search) in the same run. The module is the test build (SIMD on, as in production).
import { expect, it } from "vitest";
import { loadLogicModule } from "../assembly/gateway/logic-module.js";

const BOUNDARY = "----formdata-undici-031415926535";

function form(fileBytes: number): Buffer {
  const file = Buffer.alloc(fileBytes);
  for (let i = 0; i < file.length; i++) file[i] = (i * 7919) % 251;
  return Buffer.concat([
    Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="model"\r\n\r\nwhisper-large-v3\r\n`),
    Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="a.wav"\r\nContent-Type: audio/wav\r\n\r\n`),
    file,
    Buffer.from(`\r\n--${BOUNDARY}--\r\n`),
  ]);
}

/** Best of 7 runs, each ~100 ms of calls: ms per call. */
function best(fn: () => void): number {
  let min = Infinity;
  for (let run = 0; run < 8; run++) {
    let n = 0;
    const t0 = process.hrtime.bigint();
    let ms = 0;
    while (ms < 100) {
      fn();
      n++;
      ms = Number(process.hrtime.bigint() - t0) / 1e6;
    }
    if (run > 0) min = Math.min(min, ms / n); // the first run warms up
  }
  return min;
}

it("scans a form in place: GB/s beside a native search for its closing delimiter", () => {
  const m = loadLogicModule("logic-multipart");
  const ct = Buffer.from(`multipart/form-data; boundary=${BOUNDARY}`);
  const cp = m.put(ct);
  for (const size of [1 << 20, 25 << 20]) {
    const body = form(size);
    const bp = m.put(body);
    m.exports.scan(cp, ct.length, bp, body.length, 1);
    expect(JSON.parse(m.outText())).toMatchObject({ ok: true, model: "whisper-large-v3" });
    const scanMs = best(() => m.exports.scan(cp, ct.length, bp, body.length, 1));
    const needle = Buffer.from(`\r\n--${BOUNDARY}--`);
    const indexMs = best(() => body.indexOf(needle, 200));
    const gbps = (ms: number) => (body.length / ms / 1e6).toFixed(2);
    console.log(`multipart ${size >> 20} MiB file: scan ${scanMs.toFixed(2)} ms (${gbps(scanMs)} GB/s), Buffer.indexOf ${indexMs.toFixed(2)} ms (${gbps(indexMs)} GB/s), scan/indexOf ${(scanMs / indexMs).toFixed(2)}`);
    m.free(bp);
  }
  m.free(cp);
}, 120_000);
