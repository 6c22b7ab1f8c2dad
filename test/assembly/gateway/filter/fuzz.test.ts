// Seeded fuzzing of the production module through the host: generated, mutated and random request bodies
// (in random chunks, sometimes ended by trailers) and hostile upstream answers (JSON, event streams framed
// with LF, CRLF or CR, gzip'd or not, corrupted, in random chunks, sometimes ended by trailers).
// Oracle: JSON.parse plus the field rules (json-gen.ts expectedChat) decide between routing and 400; the
// usage of every intact answer must be priced exactly. Properties: no VM ever traps, every byte reaches
// the upstream and the client unchanged, and the gateway keeps answering. `make test` runs FUZZ_INPUTS
// (default 20,000) inputs; `make fuzz` runs 1,000,000. Under `make memcheck` (helpers.ts) the memory
// checker's reports are also looked at after every input, so that the one that caused them is named.
import zlib from "node:zlib";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { HeaderList } from "../../../../src-host/dataplane-api/http-filter.js";
import type { WasmFilter } from "../../../../src-host/proxy-wasm/index.js";
import { Gen, chatRequest, expectedChat, mutate, rng } from "../json-gen.js";
import { TestSink, load, memcheck, pluginConfig, request } from "./helpers.js";

const INPUTS = Number(process.env.FUZZ_INPUTS ?? 20_000);
const SEED = Number(process.env.FUZZ_SEED ?? 20261204);

let filter: WasmFilter;
beforeAll(async () => {
  const config = pluginConfig({
    // Every model that passes the field rules is routed: the catch-all rule matches any x-ai-eg-model.
    rules: [
      {
        route: "default/any",
        index: 0,
        matches: [{ headers: [{ name: "x-ai-eg-model", type: "RegularExpression", value: ".*" }] }],
        backends: [{ name: "default/b1", kind: "AIServiceBackend", weight: 1, modelNameOverride: "" }],
      },
    ],
    costs: [
      { route: "", metadataKey: "in", type: "InputToken", cel: "" },
      { route: "", metadataKey: "out", type: "OutputToken", cel: "" },
    ],
    maxRequestBodyBytes: 1 << 20,
  });
  ({ filter } = await load({ configuration: JSON.stringify(config) }, { bufferLimitBytes: 2 << 20 }));
});
afterAll(() => filter?.close());

const utf8 = (s: string) => new TextEncoder().encode(s);
const latin1 = (b: Uint8Array) => Buffer.from(b).toString("latin1");

/** `bytes` in 1–4 random pieces. */
function pieces(g: Gen, bytes: Uint8Array): Uint8Array[] {
  const n = 1 + g.int(4);
  const cuts = Array.from({ length: n - 1 }, () => g.int(bytes.length + 1)).sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let from = 0;
  for (const c of [...cuts, bytes.length]) {
    out.push(bytes.subarray(from, c));
    from = c;
  }
  return out;
}

function requestBody(g: Gen): Uint8Array {
  const r = g.rand();
  if (r < 0.55) return utf8(chatRequest(g));
  if (r < 0.9) return mutate(g, utf8(chatRequest(g)));
  return Uint8Array.from({ length: g.int(64) }, () => g.int(256));
}

interface Answer {
  headers: HeaderList;
  body: Uint8Array;
  /** The usage the filter must price, when the answer is intact. */
  usage?: { input: number; output: number };
}

/** A JSON or event-stream answer with usage, maybe gzip'd, maybe corrupted. */
function answer(g: Gen): Answer {
  const input = g.int(100_000);
  const output = g.int(100_000);
  const usage = `{"prompt_tokens":${input},"completion_tokens":${output},"total_tokens":${input + output}}`;
  const streaming = g.rand() < 0.5;
  let text: string;
  if (streaming) {
    const eol = g.pick(["\n", "\r\n", "\r"]);
    const events = Array.from({ length: g.int(4) }, () => `data: {"model":${g.quote(g.text(8))},"choices":[{"delta":{"content":${g.quote(g.text(16))}}}]}`);
    events.push(`data: {"choices":[],"usage":${usage}}`, "data: [DONE]");
    text = events.map((e) => e + eol + eol).join("");
  } else {
    text = `{"id":"x","model":${g.quote(g.text(8))},"choices":[],${g.ws()}"usage":${g.ws()}${usage}}`;
  }
  let body: Uint8Array = utf8(text);
  const gzip = g.rand() < 0.25;
  if (gzip) body = zlib.gzipSync(body);
  const corrupt = g.rand() < 0.3;
  if (corrupt) body = mutate(g, body);
  const headers: HeaderList = [
    [":status", g.rand() < 0.9 ? "200" : "500"],
    ["content-type", streaming ? "text/event-stream" : "application/json"],
  ];
  if (gzip) headers.push(["content-encoding", "gzip"]);
  return { headers, body, usage: corrupt || headers[0]![1] !== "200" ? undefined : { input, output } };
}

function check(ok: boolean, what: () => string, wanted: string, got: unknown): void {
  if (!ok) throw new Error(`${what()}\nwanted ${wanted}, got ${JSON.stringify(got)}`);
}

function checkMemory(what: () => string): void {
  const reports = memcheck?.take() ?? [];
  if (reports.length > 0) throw new Error(`${what()}\nthe memory checker reported:\n${reports.join("\n\n")}`);
}

it(
  `${INPUTS} fuzzed requests and answers: no trap, bytes unchanged, verdicts as JSON.parse and the field rules say`,
  () => {
    const g = new Gen(rng(SEED));
    let routed = 0;
    let refused = 0;
    let pricedCount = 0;
    for (let i = 0; i < INPUTS; i++) {
      const body = requestBody(g);
      const exp = expectedChat(body);
      const sink = new TestSink().attach(filter);
      const trailers = g.rand() < 0.2;
      sink.stream.requestHeaders(request("POST", "/v1/chat/completions", [["content-type", "application/json"]]), false);
      const parts = pieces(g, body);
      parts.forEach((p, k) => sink.stream.requestData(p, !trailers && k === parts.length - 1));
      if (trailers) sink.stream.requestTrailers([["x-fuzz", String(i)]]);
      // Built only when a check fails: 20,000 messages would cost more than the module does.
      const what = () => `input ${i} (seed ${SEED}): ${JSON.stringify(latin1(body))}`;
      if (!exp.ok) {
        check(sink.localReplies.length === 1 && sink.localReplies[0]!.status === 400, what, "a 400", sink.localReplies);
        check(sink.requestBody.length === 0, what, "nothing upstream", sink.events);
        sink.stream.complete();
        checkMemory(what);
        refused++;
        continue;
      }
      check(sink.localReplies.length === 0 && sink.requestEnded, what, "routed", sink.events);
      check(sink.header("x-ai-eg-model") === latin1(utf8(exp.model!)), what, `x-ai-eg-model ${exp.model}`, sink.header("x-ai-eg-model"));
      const forwarded = Buffer.concat(sink.requestBody);
      const doc = JSON.parse(Buffer.from(body).toString("utf8"));
      if (doc.stream === true && doc.stream_options?.include_usage !== true) {
        // With costs configured a stream must report usage: the one edit the filter makes.
        doc.stream_options = { ...(doc.stream_options ?? {}), include_usage: true };
        expect(JSON.parse(forwarded.toString("utf8")), what()).toEqual(doc);
        check(sink.header("content-length") === String(forwarded.length), what, "content-length", sink.header("content-length"));
      } else {
        check(forwarded.equals(Buffer.from(body)), what, "the body unchanged", latin1(forwarded));
      }
      routed++;

      const a = answer(g);
      const answerTrailers = g.rand() < 0.2;
      // Before the filter sees (and may rewrite) the headers.
      const [status, type, gzip] = [a.headers[0]![1], a.headers[1]![1], a.headers.some(([k]) => k === "content-encoding")];
      sink.stream.responseHeaders(a.headers, false);
      const out = pieces(g, a.body);
      out.forEach((p, k) => sink.stream.responseData(p, !answerTrailers && k === out.length - 1));
      if (answerTrailers) sink.stream.responseTrailers([["x-fuzz", String(i)]]);
      const answerWhat = () => `${what()} answer ${JSON.stringify(latin1(a.body))}`;
      const got = Buffer.concat(sink.responseBody);
      if (status === "200") {
        check(sink.responseEnded && got.equals(Buffer.from(a.body)), answerWhat, "the answer unchanged", sink.events);
      } else {
        // An error outside JSON comes back in OpenAI's shape (the event-stream ones here), its text as the message.
        let text: Buffer | undefined = Buffer.from(a.body);
        if (gzip)
          try {
            text = zlib.gunzipSync(a.body);
          } catch {
            text = undefined;
          }
        const unchanged = got.equals(Buffer.from(a.body));
        if (type === "application/json" || (gzip && unchanged)) {
          check(sink.responseEnded && unchanged, answerWhat, "the answer unchanged", sink.events);
        } else {
          let wrapped: any;
          try {
            wrapped = JSON.parse(got.toString("utf8"));
          } catch {
            wrapped = undefined;
          }
          check(
            sink.responseEnded && wrapped?.error?.type === "OpenAIBackendError" && wrapped.error.code === "500",
            answerWhat,
            "an OpenAIBackendError",
            wrapped ?? latin1(got),
          );
          const utf8Clean = text !== undefined && Buffer.from(text.toString("utf8")).equals(text);
          if (utf8Clean) check(wrapped.error.message === text!.toString("utf8"), answerWhat, "the body as the message", wrapped.error.message);
        }
      }
      if (a.usage) {
        const state = (k: string) => new TextDecoder().decode(sink.info.filterState.get(`wasm.${k}`));
        const priced = [state("in"), state("out")];
        check(priced[0] === String(a.usage.input) && priced[1] === String(a.usage.output), answerWhat, `usage ${JSON.stringify(a.usage)}`, priced);
        pricedCount++;
      }
      sink.stream.complete();
      checkMemory(answerWhat);
    }
    expect(filter.vms.map((_, k) => filter.failed(k))).toEqual(filter.vms.map(() => false));
    // The mix exercises every branch: plenty routed, refused and priced.
    expect(Math.min(routed, refused, pricedCount)).toBeGreaterThan(INPUTS / 10);
    console.log(
      `fuzz${memcheck ? " (memory checked)" : ""}: ${INPUTS} inputs (seed ${SEED}): ${routed} routed, ${refused} refused with 400, ${pricedCount} answers priced exactly`,
    );
  },
  Math.max(60_000, INPUTS * 2),
);
