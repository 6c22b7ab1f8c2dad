// What the gateway records (assembly/gateway/telemetry/metrics) into a memory MetricSink, without a host:
// Envoy AI Gateway's GenAI names and labels in the metric name, label values escaped, each metric defined
// once and then only recorded.
import { beforeEach, describe, expect, it } from "vitest";
import { loadLogicModule, type LogicModule } from "../logic-module.js";

let m: LogicModule;

function call(name: string, text: string, flag = false): string[] {
  const p = m.put(text);
  m.exports[name](p, Buffer.byteLength(text), flag ? 1 : 0);
  m.free(p);
  return take();
}

function take(): string[] {
  m.exports.takeLog();
  return m
    .outText()
    .split("\n")
    .filter((l) => l.length > 0);
}

const DIMS = ";op=chat;provider=openai;original_model=llama;request_model=llama-3;response_model=llama-3-0425";

beforeEach(() => {
  m = loadLogicModule("logic-telemetry");
});

describe("GenAI metrics", () => {
  it("are named with their labels, defined once per label combination, then only recorded", () => {
    expect(call("genAi", "chat\nopenai\nllama\nllama-3\nllama-3-0425")).toEqual([
      ...["input", "cached_input", "cache_creation_input", "output", "reasoning"].map(
        (t) => `define histogram gen_ai.client.token.usage${DIMS};token_type=${t}`,
      ),
      `define histogram gen_ai.server.request.duration_microseconds${DIMS}`,
      `define histogram gen_ai.server.request.duration_microseconds${DIMS};error_type=_OTHER`,
      `define histogram gen_ai.server.time_to_first_token_microseconds${DIMS}`,
      `define histogram gen_ai.server.time_per_output_token_microseconds${DIMS}`,
      `gen_ai.client.token.usage${DIMS};token_type=input 10`,
      `gen_ai.client.token.usage${DIMS};token_type=output 2`,
      `gen_ai.server.request.duration_microseconds${DIMS} 1500`,
      `gen_ai.server.time_to_first_token_microseconds${DIMS} 300`,
    ]);
    // The same labels again (a new request): nothing defined, a failure recorded under error_type.
    expect(call("genAi", "chat\nopenai\nllama\nllama-3\nllama-3-0425", true)).toEqual([
      `gen_ai.client.token.usage${DIMS};token_type=input 10`,
      `gen_ai.client.token.usage${DIMS};token_type=output 2`,
      `gen_ai.server.request.duration_microseconds${DIMS};error_type=_OTHER 1500`,
      `gen_ai.server.time_to_first_token_microseconds${DIMS} 300`,
    ]);
  });

  it("write an empty label as unknown and ';' in a value as %3B, so stats_tags can cut the name apart", () => {
    const lines = call("genAi", "chat\nopenai\na;b\n\n");
    expect(lines[0]).toBe(
      "define histogram gen_ai.client.token.usage;op=chat;provider=openai;original_model=a%3Bb;request_model=unknown;response_model=unknown;token_type=input",
    );
    // A ";" after other text after a ";": String#replaceAll of AssemblyScript 0.28 cuts this short (";x%3" for
    // ";x;", 6 of its 7 characters) after writing past its output, which corrupted the VM's heap.
    for (const [model, escaped] of [
      [";x;", "%3Bx%3B"],
      [";\u0335;", "%3B\u0335%3B"],
      ["a;bc;;d;", "a%3Bbc%3B%3Bd%3B"],
      [";;;;", "%3B%3B%3B%3B"],
    ]) {
      const name = call("genAi", `chat\nopenai\n${model}\n\n`)[0];
      expect(name).toContain(`;original_model=${escaped};`);
    }
  });
});

describe("backend and callout metrics", () => {
  it("count and time per backend and endpoint, errors apart; EPP and rate limit calls by outcome", () => {
    expect(call("backend", "default/b\n10.0.0.1:8000", true)).toEqual([
      "define counter aigw.backend.requests_total;backend=default/b;endpoint=10.0.0.1:8000",
      "aigw.backend.requests_total;backend=default/b;endpoint=10.0.0.1:8000 +1",
      "define counter aigw.backend.errors_total;backend=default/b;endpoint=10.0.0.1:8000",
      "aigw.backend.errors_total;backend=default/b;endpoint=10.0.0.1:8000 +1",
      "define histogram aigw.backend.request.duration_microseconds;backend=default/b;endpoint=10.0.0.1:8000",
      "aigw.backend.request.duration_microseconds;backend=default/b;endpoint=10.0.0.1:8000 700",
    ]);
    expect(call("backend", "default/b\n10.0.0.1:8000")).toEqual([
      "aigw.backend.requests_total;backend=default/b;endpoint=10.0.0.1:8000 +1",
      "aigw.backend.request.duration_microseconds;backend=default/b;endpoint=10.0.0.1:8000 700",
    ]);
    m.exports.callouts();
    expect(take()).toEqual([
      "define counter aigw.epp.callouts_total;pool=default/pool;outcome=picked",
      "aigw.epp.callouts_total;pool=default/pool;outcome=picked +1",
      "define histogram aigw.epp.callout.duration_microseconds;pool=default/pool;outcome=picked",
      "aigw.epp.callout.duration_microseconds;pool=default/pool;outcome=picked 40",
      // A call never sent has no duration.
      "define counter aigw.ratelimit.calls_total;phase=charge;outcome=unavailable",
      "aigw.ratelimit.calls_total;phase=charge;outcome=unavailable +1",
      "define counter aigw.ratelimit.calls_total;phase=check;outcome=ok",
      "aigw.ratelimit.calls_total;phase=check;outcome=ok +1",
      "define histogram aigw.ratelimit.call.duration_microseconds;phase=check",
      "aigw.ratelimit.call.duration_microseconds;phase=check 90",
    ]);
  });
});
