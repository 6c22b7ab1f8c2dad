// Streaming usage (assembly/gateway/response/sse.ts): Envoy AI Gateway's streaming usage cases and every SSE edge
// case — any split point, one byte per chunk, CRLF, `data:` without the space, [DONE], comments, invalid lines,
// usage null, cumulative (vLLM) usage, the line cap — and linear work.
import { beforeAll, describe, expect, it } from "vitest";
import { loadLogicModule, type LogicModule } from "../logic-module.js";
import { chatStream } from "./sse-fixtures.js";

let m: LogicModule;
beforeAll(() => {
  m = loadLogicModule("logic-response");
});

interface State {
  seen: number;
  input: number;
  cached: number;
  creation: number;
  output: number;
  total: number;
  reasoning: number;
  model: string;
  done: boolean;
  dataLines: number;
  usageUpdates: number;
  ignoredLines: number;
}

class Scanner {
  readonly h: number;
  constructor(maxLine = 0) {
    this.h = m.exports.sseNew(maxLine);
  }
  feed(chunk: string | Buffer): this {
    const bytes = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk);
    const p = m.put(bytes);
    m.exports.sseFeed(this.h, p, bytes.length);
    // The scanner only observes: the bytes in memory are unchanged.
    expect(Buffer.from(m.memory.buffer, p, bytes.length).equals(bytes)).toBe(true);
    m.free(p);
    return this;
  }
  finish(): this {
    m.exports.sseFinish(this.h);
    return this;
  }
  get pending(): number {
    return m.exports.ssePending(this.h);
  }
  state(): State {
    m.exports.sseDescribe(this.h);
    return JSON.parse(m.outText());
  }
}

function scanAll(stream: string | Buffer, chunks?: number[]): State {
  const bytes = Buffer.isBuffer(stream) ? stream : Buffer.from(stream);
  const s = new Scanner();
  if (!chunks) s.feed(bytes);
  else {
    let p = 0;
    for (const n of chunks) {
      s.feed(bytes.subarray(p, p + n));
      p += n;
    }
    s.feed(bytes.subarray(p));
  }
  return s.state();
}

const INPUT = 1,
  CACHED = 2,
  OUTPUT = 8,
  TOTAL = 16,
  REASONING = 32;

// Scenario 8's upstream lines, sent by the test upstream as `data: <line>\n\n`.
const scenario8 = [
  '{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{"content":"Hello"},"finish_reason":null}],"usage":null}',
  '{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":[],"usage":{"prompt_tokens":13,"completion_tokens":12,"total_tokens":25,"prompt_tokens_details":{"cached_tokens":0},"completion_tokens_details":{"reasoning_tokens":0}}}',
  "[DONE]",
]
  .map((l) => `data: ${l}\n\n`)
  .join("");

describe("scenarios 8–10", () => {
  it("8: usage chunk after a usage:null chunk, then [DONE]", () => {
    const st = scanAll(scenario8);
    expect(st).toMatchObject({
      input: 13,
      output: 12,
      total: 25,
      cached: 0,
      reasoning: 0,
      model: "gpt-4o-mini",
      done: true,
      dataLines: 3,
      usageUpdates: 1,
      ignoredLines: 0,
    });
    expect(st.seen).toBe(INPUT | CACHED | OUTPUT | TOTAL | REASONING);
  });

  it("9: one byte per chunk — output becomes 12 exactly when the usage line completes", () => {
    const bytes = Buffer.from(scenario8);
    const usageLineEnd = bytes.indexOf("}}}\n") + 3;
    const s = new Scanner();
    for (let i = 0; i < bytes.length; i++) {
      s.feed(bytes.subarray(i, i + 1));
      const out = s.state().output;
      expect(out, `after byte ${i}`).toBe(i < usageLineEnd ? 0 : 12);
      expect(s.pending).toBeLessThanOrEqual(400);
    }
    expect(s.state()).toMatchObject({ input: 13, total: 25, done: true, ignoredLines: 0 });
  });

  it("10: invalid data lines around a usage line, and a usage line completed by a later chunk", () => {
    expect(scanAll('data: invalid\ndata: {"usage":{"total_tokens":42}}\n')).toMatchObject({ total: 42, seen: TOTAL, ignoredLines: 0 });
    const s = new Scanner().feed("data: {}\n\ndata: ");
    expect(s.state()).toMatchObject({ seen: 0, total: 0 });
    s.feed('{"usage":{"total_tokens":42}}\n');
    expect(s.state()).toMatchObject({ total: 42 });
    expect(scanAll("data: invalid\n")).toMatchObject({ seen: 0, ignoredLines: 0, dataLines: 1 });
    expect(scanAll('data:{"usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3}}\n\n')).toMatchObject({ input: 1, output: 2, total: 3 });
  });
});

describe("SSE framing", () => {
  it("CRLF line ends, with and without the space after data:", () => {
    for (const prefix of ["data: ", "data:"]) {
      const st = scanAll(chatStream({ tokens: 5, eol: "\r\n", prefix, promptTokens: 7 }));
      expect(st).toMatchObject({ input: 7, output: 5, total: 12, done: true, model: "gpt-4o-2024-08-06", ignoredLines: 0 });
    }
  });

  it("a lone CR ends a line too (the SSE specification's third line end), in one chunk and split anywhere", () => {
    const lf = Buffer.from(chatStream({ tokens: 12, promptTokens: 9 }));
    const whole = scanAll(lf);
    expect(whole).toMatchObject({ input: 9, output: 12, done: true });
    for (const eol of ["\r", "\r\n"]) {
      const stream = Buffer.from(lf.toString().replaceAll("\n", eol));
      expect(scanAll(stream), JSON.stringify(eol)).toEqual(whole);
      for (let at = 1; at < stream.length; at += 7) expect(scanAll(stream, [at]), `${JSON.stringify(eol)} split at ${at}`).toEqual(whole);
    }
    // Line ends mixed freely, one byte per chunk.
    const mixed = Buffer.from('data: {"usage":{"total_tokens":4}}\r\rdata: {"usage":{"total_tokens":6}}\r\n\ndata: [DONE]\r');
    expect(
      scanAll(
        mixed,
        Array.from({ length: mixed.length }, () => 1),
      ),
    ).toMatchObject({ total: 6, done: true, dataLines: 3 });
  });

  it("a CR split from its LF across chunks", () => {
    const stream = Buffer.from('data: {"usage":{"total_tokens":5}}\r\n\r\ndata: [DONE]\r\n\r\n');
    const cr = stream.indexOf("\r");
    expect(scanAll(stream, [cr + 1])).toMatchObject({ total: 5, done: true });
  });

  it("comments, event:, id: and retry: lines and blank lines are skipped", () => {
    const st = scanAll(': keep-alive\nevent: message\nid: 7\nretry: 100\n\n:data: {"usage":{"total_tokens":9}}\ndata: {"usage":{"total_tokens":3}}\n\n');
    expect(st).toMatchObject({ total: 3, dataLines: 1, usageUpdates: 1 });
  });

  it("[DONE] with surrounding spaces, and nothing after it changes the result unless it carries usage", () => {
    expect(scanAll("data:  [DONE]  \n")).toMatchObject({ done: true });
    expect(scanAll("data: [DONE]x\n")).toMatchObject({ done: false });
  });

  it("a leading byte order mark is ignored", () => {
    expect(scanAll(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('data: {"usage":{"total_tokens":2}}\n')]))).toMatchObject({ total: 2 });
  });

  it("finish() reads a last line that had no newline", () => {
    const s = new Scanner().feed('data: {"usage":{"total_tokens":8}}');
    expect(s.state().total).toBe(0);
    expect(s.finish().state()).toMatchObject({ total: 8 });
    expect(s.pending).toBe(0);
  });

  it("any split of a realistic stream gives the same result as one chunk", () => {
    const stream = Buffer.from(chatStream({ tokens: 40, promptTokens: 31, cachedTokens: 16, reasoningTokens: 4 }));
    const whole = scanAll(stream);
    expect(whole).toMatchObject({ input: 31, cached: 16, output: 40, total: 71, reasoning: 4, done: true, dataLines: 44, usageUpdates: 1, ignoredLines: 0 });
    let seed = 7;
    const rnd = () => {
      seed = (seed * 1103515245 + 12345) >>> 0;
      return seed >>> 8;
    };
    for (let round = 0; round < 30; round++) {
      const chunks: number[] = [];
      let left = stream.length;
      while (left > 0) {
        const n = Math.min(left, 1 + (rnd() % (round < 10 ? 7 : 600)));
        chunks.push(n);
        left -= n;
      }
      expect(scanAll(stream, chunks)).toEqual(whole);
    }
  });
});

describe("usage and model semantics", () => {
  it("usage: null is ignored; an invalid JSON line with usage is ignored and counted", () => {
    const st = scanAll(
      'data: {"usage":{"total_tokens":5}}\ndata: {"usage":null}\ndata: {"usage":{"total_tokens":6}\ndata: {"usage": {"total_tokens": 7}} trailing\n',
    );
    expect(st).toMatchObject({ total: 5, usageUpdates: 1, ignoredLines: 2 });
  });

  it("cumulative (vLLM continuous_usage_stats) usage: the latest wins, field by field", () => {
    const lines = [];
    for (let i = 1; i <= 50; i++)
      lines.push(
        `data: {"model":"qwen","choices":[{"delta":{"content":"x"}}],"usage":{"prompt_tokens":10,"completion_tokens":${i},"total_tokens":${10 + i}}}\n\n`,
      );
    lines.push('data: {"usage":{"completion_tokens":51}}\n\n');
    const st = scanAll(lines.join(""));
    expect(st).toMatchObject({ input: 10, output: 51, total: 60, usageUpdates: 51, model: "qwen" });
  });

  it("the latest non-empty model is the response model", () => {
    const st = scanAll('data: {"model":"a"}\ndata: {"model":""}\ndata: {"model":"b","usage":null}\ndata: {"model":"b"}\ndata: {"x":1}\n');
    expect(st.model).toBe("b");
    expect(scanAll('data: {"model":"a"}\ndata: {"model":"\\u0062\\/c"}\n').model).toBe("b/c");
    expect(scanAll('data: {"model":"a"}\ndata: {"model":null}\n').model).toBe("a");
    // An invalid line does not change the model; a nested "model" key is not the response's.
    expect(scanAll('data: {"model":"a"}\ndata: {"model":"b",}\n').model).toBe("a");
    expect(scanAll('data: {"model":"a"}\ndata: {"choices":[{"model":"nested"}],"model":"a"}\n').model).toBe("a");
    expect(scanAll('data: {"model":"a"}\ndata: {"choices":[{"model":"a"}],"model":"c"}\n').model).toBe("c");
  });

  it('"usage" or "model" inside string content never confuse the scanner', () => {
    const st = scanAll(
      'data: {"model":"m","choices":[{"delta":{"content":"\\"usage\\":{\\"total_tokens\\":99} \\"model\\":\\"x\\" usage model"}}],"usage":null}\n',
    );
    expect(st).toMatchObject({ seen: 0, model: "m", ignoredLines: 0 });
  });

  it("only a top-level usage counts", () => {
    expect(scanAll('data: {"choices":[{"usage":{"total_tokens":5}}]}\n')).toMatchObject({ seen: 0, ignoredLines: 0 });
  });
});

describe("bounded memory and linear work", () => {
  it("a line longer than the cap is dropped; later lines still count", () => {
    const s = new Scanner(1024);
    s.feed('data: {"pad":"' + "x".repeat(600));
    s.feed("x".repeat(600));
    expect(s.pending).toBeLessThanOrEqual(1024);
    s.feed('x"}\ndata: {"usage":{"total_tokens":4}}\n');
    expect(s.state()).toMatchObject({ total: 4, ignoredLines: 1 });
    // A long line inside one chunk is fine: only incomplete lines are held.
    const long = `data: {"pad":"${"y".repeat(5000)}","usage":{"total_tokens":6}}\n`;
    expect(s.feed(long).state()).toMatchObject({ total: 6, ignoredLines: 1 });
    expect(s.pending).toBe(0);
  });

  it("work is linear in the stream: only the incomplete last line is carried, whatever the chunking", () => {
    // Each byte is scanned when it arrives and once more at most if it belongs to a line split across
    // chunks; so the carry-over never exceeds one line. Re-scanning what was seen (the quadratic failure
    // mode) would show as a carry-over that grows with the stream.
    const text = chatStream({ tokens: 2000 });
    const bytes = Buffer.from(text);
    const longestLine = Math.max(...text.split("\n").map((l) => Buffer.byteLength(l) + 1));
    for (const chunk of [1, 100, 4096]) {
      const p = m.put(bytes);
      const h = m.exports.sseNew(0);
      let maxPending = 0;
      for (let i = 0; i < bytes.length; i += chunk) {
        m.exports.sseFeed(h, p + i, Math.min(chunk, bytes.length - i));
        maxPending = Math.max(maxPending, m.exports.ssePending(h));
      }
      m.exports.sseDescribe(h);
      expect(JSON.parse(m.outText()).output).toBe(2000);
      expect(maxPending, `chunk ${chunk}`).toBeLessThanOrEqual(longestLine);
      m.free(p);
    }
  });
});

describe("timing", () => {
  it("time per output token = (end − first) / (out − 1), only when out > 1", () => {
    expect(m.exports.tpot(1.0, 3.0, 5n)).toBe(0.5);
    expect(m.exports.tpot(1.0, 3.0, 1n)).toBe(-1);
    expect(m.exports.tpot(1.0, 3.0, 0n)).toBe(-1);
    expect(m.exports.tpot(3.0, 1.0, 5n)).toBe(-1);
  });

  it("time to first token is taken at the first non-empty body chunk", () => {
    m.exports.timingScenario(100, 150, 200, 250, 300, 11n);
    expect(JSON.parse(m.outText())).toEqual({ ttft: 100, tpot: 10, duration: 200 });
  });

  it("a wall clock that stepped back gives 0, never a negative or wrapped duration", () => {
    m.exports.timingScenario(300, 0, 250, 260, 200, 11n);
    expect(JSON.parse(m.outText())).toEqual({ ttft: 0, tpot: -1, duration: 0 });
  });
});
