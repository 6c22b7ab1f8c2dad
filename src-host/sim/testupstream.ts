// Envoy AI Gateway's test upstream (image `envoyproxy/ai-gateway-testupstream`, source
// `tests/internal/testupstreamlib/server.go`): request headers say what the request must look like and
// what to answer. The checks run in upstream's order, so the first failed expectation is the one reported.
// Not implemented: `x-response-type: aws-event-stream` (AWS binary event framing) and the canned
// benchmark answers for the Bedrock and Vertex paths; both answer 400 with the reason. Where the image has
// no answer, this one answers as an OpenAI server would: a canned chat completion is streamed when the
// request says "stream": true, and the canned embedding comes as base64 when `encoding_format` says so.
import http from "node:http";
import zlib from "node:zlib";
import { DESTINATION_ENDPOINT_HEADER } from "../config/plugin-config.js";
import { closeServer, listen, readBody, sleep, type ListeningServer } from "./http-server.js";

export interface TestUpstreamOptions {
  host: string;
  port: number;
  /** TESTUPSTREAM_ID: compared with `x-expected-testupstream-id`, echoed as `testupstream-id`. */
  id?: string;
  /** Adds `x-inference-pod: <podName>` to every answer. */
  podName?: string;
  /** Pause before each SSE event; upstream uses 200 ms. */
  sseIntervalMs?: number;
}

// Request header names (upstream `testupstream.go`).
export const TestUpstreamHeaders = {
  expectedPath: "x-expected-path",
  expectedRawQuery: "x-expected-raw-query",
  expectedHost: "x-expected-host",
  expectedHeaders: "x-expected-headers",
  nonExpectedRequestHeaders: "x-non-expected-request-headers",
  expectedRequestBody: "x-expected-request-body",
  expectedTestUpstreamId: "x-expected-testupstream-id",
  responseStatus: "x-response-status",
  responseHeaders: "x-response-headers",
  responseBody: "x-response-body",
  responseType: "x-response-type",
  fakeResponse: "x-fake-response",
} as const;

const MAX_BODY = 256 * 1024 * 1024;

/** A failed expectation: answered 400 (or `status`) as text with `X-TestUpstream-Error: true`. */
class Expectation extends Error {
  constructor(
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

export async function startTestUpstream(opts: TestUpstreamOptions): Promise<ListeningServer> {
  const id = opts.id ?? "";
  const interval = opts.sseIntervalMs ?? 200;
  const inFlight = new Set<AbortController>();
  const server = http.createServer((req, res) => {
    const abort = new AbortController();
    inFlight.add(abort);
    res.on("close", () => {
      abort.abort();
      inFlight.delete(abort);
    });
    handle(req, res, { id, podName: opts.podName, interval, signal: abort.signal }).catch((err: unknown) => {
      if (!res.headersSent) sendError(res, new Map(), new Expectation(errorText(err), 500));
      else res.destroy();
    });
  });
  const address = await listen(server, opts.host, opts.port);
  return {
    address,
    close: async () => {
      for (const a of inFlight) a.abort();
      await closeServer(server);
    },
  };
}

interface HandlerContext {
  id: string;
  podName?: string;
  interval: number;
  signal: AbortSignal;
}

async function handle(req: http.IncomingMessage, res: http.ServerResponse, ctx: HandlerContext): Promise<void> {
  const rawUrl = req.url ?? "/";
  const q = rawUrl.indexOf("?");
  const rawPath = q < 0 ? rawUrl : rawUrl.slice(0, q);
  const rawQuery = q < 0 ? "" : rawUrl.slice(q + 1);
  // Headers set before an error still go out with it, as with Go's ResponseWriter.
  const headers = new Map<string, string>();
  if (ctx.podName) headers.set("x-inference-pod", wireValue(ctx.podName));
  try {
    const path = decodePath(rawPath);
    if (path === "/health") {
      await readBody(req, MAX_BODY);
      send(res, 200, headers, Buffer.alloc(0));
      return;
    }
    await respond(req, res, ctx, headers, path, rawQuery);
  } catch (err) {
    if (!(err instanceof Expectation)) throw err;
    req.resume();
    sendError(res, headers, err);
  }
}

async function respond(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  ctx: HandlerContext,
  headers: Map<string, string>,
  path: string,
  rawQuery: string,
): Promise<void> {
  const H = TestUpstreamHeaders;
  const get = (name: string) => header(req, name);

  const host = get(H.expectedHost);
  if (host !== "" && get("host") !== host) {
    throw new Expectation(`unexpected host: got ${quote(get("host"))}, expected ${quote(host)}`);
  }
  const expectedHeaders = get(H.expectedHeaders);
  if (expectedHeaders !== "") {
    // Node gives header values as latin1 code units of the raw bytes: compare bytes with bytes.
    const list = decodeBase64(expectedHeaders, "expected headers").toString("latin1");
    for (const [key, value] of pairs(list)) {
      if (get(key) !== value) {
        throw new Expectation(`unexpected header ${quote(key)}: got ${quote(get(key))}, expected ${quote(value)}`);
      }
    }
  }
  const nonExpected = get(H.nonExpectedRequestHeaders);
  if (nonExpected !== "") {
    for (const key of decodeBase64(nonExpected, "non-expected headers").toString("latin1").split(",")) {
      if (get(key) !== "") throw new Expectation(`unexpected header ${quote(key)} presence with value ${quote(get(key))}`);
    }
  }
  const expectedId = get(H.expectedTestUpstreamId);
  if (expectedId !== "" && expectedId !== wireValue(ctx.id)) {
    throw new Expectation(`unexpected testupstream-id: received by '${ctx.id}' but expected '${expectedId}'\n`);
  }
  const expectedPath = get(H.expectedPath);
  if (expectedPath !== "") {
    const want = decodeBase64(expectedPath, "expected path").toString("utf8");
    if (path !== want) throw new Expectation(`unexpected path: got ${path}, expected ${want}`);
  }
  const expectedQuery = get(H.expectedRawQuery);
  if (expectedQuery !== "" && rawQuery !== expectedQuery) {
    throw new Expectation(`unexpected raw query: got ${rawQuery}, expected ${expectedQuery}`);
  }

  const body = await readBody(req, MAX_BODY);
  // A body must come with Content-Length (a chunked one is refused) unless an endpoint picker rewrote it:
  // in duplex mode the data plane drops Content-Length, and the pool's model servers read chunked bodies.
  const method = req.method ?? "GET";
  const bodiless = body.length === 0 && (method === "GET" || method === "DELETE" || method === "HEAD");
  if (req.headers["content-length"] === undefined && !bodiless && get(DESTINATION_ENDPOINT_HEADER) === "") {
    throw new Expectation(`no Content-Length header, using request body length: ${body.length}`);
  }
  const expectedBody = get(H.expectedRequestBody);
  if (expectedBody !== "") {
    const want = decodeBase64(expectedBody, "expected request body");
    if (!want.equals(body)) {
      throw new Expectation(`unexpected request body: got ${body.toString("utf8")}, expected ${want.toString("utf8")}`);
    }
  }

  const responseHeaders = get(H.responseHeaders);
  if (responseHeaders !== "") {
    for (const [key, value] of pairs(decodeBase64(responseHeaders, "response headers").toString("utf8"))) {
      if (!HEADER_NAME.test(key)) throw new Expectation(`invalid header key-value pair: ${key}:${value}`);
      headers.set(key.toLowerCase(), wireValue(value));
    }
  }
  headers.set("testupstream-id", wireValue(ctx.id));
  const status = parseStatus(get(H.responseStatus));
  const json = jsonObject(body);
  const model = modelOf(json);
  if (model !== undefined) headers.set("x-model", wireValue(model));

  const type = get(H.responseType);
  if (type === "sse" || type === "sse-gzip") {
    headers.set("content-type", "text/event-stream");
    if (type === "sse-gzip") headers.set("content-encoding", "gzip");
    const events = sseEvents(decodeBase64(get(H.responseBody), "response body"));
    await streamEvents(res, status, headers, events, type === "sse-gzip", ctx);
    return;
  }
  if (type === "aws-event-stream") throw new Expectation("x-response-type aws-event-stream is not supported by this test upstream");
  const bodyHeader = get(H.responseBody);
  const request = bodyHeader === "" && type === "" ? openAiRequest(json) : undefined;
  if (request?.stream && path === "/v1/chat/completions" && get(H.fakeResponse) === "") {
    // The image answers a canned chat completion as JSON even to "stream": true (an OpenAI client then reads
    // no chunk and no error); this one streams it as an OpenAI server would.
    headers.set("content-type", "text/event-stream");
    await streamEvents(res, status, headers, cannedChatChunks(model ?? "", request.includeUsage), false, ctx);
    return;
  }
  const gzip = type === "gzip";
  if (gzip) headers.set("content-encoding", "gzip");
  if (!headers.has("content-type")) headers.set("content-type", "application/json");
  let out = bodyHeader === "" ? fakeResponse(path, get(H.fakeResponse), request) : decodeBase64(bodyHeader, "response body");
  if (gzip) out = zlib.gzipSync(out);
  send(res, status, headers, out);
}

/** The SSE events to send: `\n\n`-separated blocks as they are, otherwise each line as `data: <line>`. */
function sseEvents(body: Buffer): Buffer[] {
  const text = body.toString("utf8");
  if (text.includes("\n\n")) {
    return text
      .split("\n\n")
      .filter((block) => block.trim() !== "")
      .map((block) => Buffer.from(block + "\n\n"));
  }
  return text
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => Buffer.from(`data: ${line}\n\n`));
}

async function streamEvents(
  res: http.ServerResponse,
  status: number,
  headers: Map<string, string>,
  events: Buffer[],
  gzip: boolean,
  ctx: HandlerContext,
): Promise<void> {
  res.writeHead(status, Object.fromEntries(headers));
  // With gzip each event ends in a sync flush, so the client can inflate it on arrival.
  const gz = gzip ? zlib.createGzip() : undefined;
  gz?.pipe(res);
  for (const event of events) {
    await sleep(ctx.interval, ctx.signal);
    if (ctx.signal.aborted) return;
    if (gz) {
      gz.write(event);
      await new Promise<void>((resolve) => gz.flush(zlib.constants.Z_SYNC_FLUSH, () => resolve()));
    } else {
      res.write(event);
    }
  }
  if (gz) gz.end();
  else res.end();
}

function send(res: http.ServerResponse, status: number, headers: Map<string, string>, body: Buffer): void {
  res.writeHead(status, { ...Object.fromEntries(headers), "content-length": String(body.length) });
  res.end(body);
}

/** A request an OpenAI server would refuse, where the image has no answer: 400 with OpenAI's error JSON. */
class OpenAiError extends Expectation {
  constructor(
    message: string,
    readonly param: string,
  ) {
    super(message);
  }
}

function sendError(res: http.ServerResponse, headers: Map<string, string>, err: Expectation): void {
  headers.delete("content-encoding");
  if (err instanceof OpenAiError) {
    headers.set("content-type", "application/json");
    const error = { message: err.message, type: "invalid_request_error", param: err.param, code: null };
    return send(res, err.status, headers, Buffer.from(JSON.stringify({ error })));
  }
  headers.set("content-type", "text/plain; charset=utf-8");
  headers.set("x-testupstream-error", "true");
  send(res, err.status, headers, Buffer.from(err.message + "\n"));
}

/** The first value of a request header, "" when absent (Go's `Header.Get`). */
function header(req: http.IncomingMessage, name: string): string {
  return req.headersDistinct[name.toLowerCase()]?.[0] ?? "";
}

/** `k:v,k:v` pairs; a pair without `:` is an error. */
function pairs(list: string): Array<[string, string]> {
  return list.split(",").map((kv) => {
    const colon = kv.indexOf(":");
    if (colon < 0) throw new Expectation(`invalid header key-value pair: ${kv}`);
    return [kv.slice(0, colon), kv.slice(colon + 1)];
  });
}

const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** A header value as Go writes it: UTF-8 bytes as they are (Node sends latin1 code units as bytes); control characters, which Node refuses, as spaces. */
function wireValue(value: string): string {
  return Buffer.from(value.replace(/[\x00-\x08\x0a-\x1f\x7f]/g, " "), "utf8").toString("latin1");
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Standard, padded base64 as Go's `StdEncoding` reads it (line breaks ignored, anything else refused). */
function decodeBase64(value: string, what: string): Buffer {
  const clean = value.replace(/[\r\n]/g, "");
  if (!BASE64.test(clean)) throw new Expectation(`failed to decode the ${what}: illegal base64 data`);
  return Buffer.from(clean, "base64");
}

function parseStatus(value: string): number {
  if (value === "") return 200;
  if (!/^[+-]?\d+$/.test(value)) {
    throw new Expectation(`failed to parse the response status: strconv.Atoi: parsing ${quote(value)}: invalid syntax`);
  }
  const status = Number(value);
  if (status < 100 || status > 999) throw new Expectation(`failed to parse the response status: ${value} is not a valid HTTP status`);
  return status;
}

/** What a canned answer follows from an OpenAI request body: streaming and the embedding encoding. */
interface OpenAiRequest {
  stream: boolean;
  includeUsage: boolean;
  encodingFormat: unknown;
}

function openAiRequest(body: JsonObject | undefined): OpenAiRequest | undefined {
  if (!body) return undefined;
  const options = body.stream_options as { include_usage?: unknown } | null | undefined;
  return { stream: body.stream === true, includeUsage: options?.include_usage === true, encodingFormat: body.encoding_format };
}

type JsonObject = Record<string, unknown>;

/** The body as a JSON object, or undefined when it is not one. */
function jsonObject(body: Buffer): JsonObject | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString("utf8"));
  } catch {
    return undefined;
  }
  return typeof parsed === "object" && parsed !== null && !Array.isArray(parsed) ? (parsed as JsonObject) : undefined;
}

/** The body's top-level `model`, best effort (upstream uses gjson): a string as is, other JSON as text. */
function modelOf(body: JsonObject | undefined): string | undefined {
  if (!body || !("model" in body)) return undefined;
  const model = body.model;
  if (typeof model === "string") return model;
  return model === null ? "" : JSON.stringify(model);
}

function decodePath(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new Expectation(`invalid request path ${quote(raw)}`);
  }
}

function quote(s: string): string {
  return JSON.stringify(s);
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

// ---- Canned answers when the request gives no `x-response-body` ----

const CANNED_SENTENCES = [
  "This is a test.",
  "A canned answer from the test upstream.",
  "The gateway routed this request by its model.",
  "Nothing to see here, the backend is simulated.",
  "Every request gets one of these lines back.",
  "Streamed or not, this reply is canned.",
  "Hello from the test upstream.",
];

const fakeCache = new Map<string, Buffer>();

/** Chat answers of about 5 KB, 500 KB and 5 MB for `x-fake-response: small|medium|large`. */
function sizedChatCompletion(size: string): Buffer {
  const lines = { small: 100, medium: 10_000, large: 100_000 }[size];
  if (lines === undefined) throw new Expectation(`failed to get the fake response for path /v1/chat/completions: unknown large fake response key: ${size}`);
  let cached = fakeCache.get(size);
  if (!cached) {
    const content = "A line of filler text in a large canned answer. ".repeat(lines);
    cached = Buffer.from(
      JSON.stringify({
        id: "chatcmpl-testupstream",
        object: "chat.completion",
        created: 1_700_000_000,
        model: "testupstream-model",
        choices: [{ index: 0, message: { role: "assistant", content }, finish_reason: "stop" }],
        usage: { prompt_tokens: 13, completion_tokens: 12, total_tokens: 25 },
      }),
    );
    fakeCache.set(size, cached);
  }
  return cached;
}

/** Usage of the canned chat answer (the image's numbers). */
const CANNED_USAGE = { prompt_tokens: 1, completion_tokens: 100, total_tokens: 300 };

/**
 * A canned sentence as OpenAI streams a chat completion: a chunk with the role, one per word, one with the
 * finish reason, the usage chunk (no choices) when `stream_options.include_usage` asks for it, then [DONE].
 */
function cannedChatChunks(model: string, includeUsage: boolean): Buffer[] {
  const base = { id: `chatcmpl-testupstream-${Date.now()}`, object: "chat.completion.chunk", created: Math.floor(Date.now() / 1000), model };
  const chunk = (delta: object, finish: string | null) => ({ ...base, choices: [{ index: 0, delta, finish_reason: finish }] });
  const words = cannedSentence().match(/\s*\S+/g) ?? [];
  const events: object[] = [chunk({ role: "assistant", content: "" }, null), ...words.map((w) => chunk({ content: w }, null)), chunk({}, "stop")];
  if (includeUsage) events.push({ ...base, choices: [], usage: CANNED_USAGE });
  return [...events.map((e) => Buffer.from(`data: ${JSON.stringify(e)}\n\n`)), Buffer.from("data: [DONE]\n\n")];
}

function cannedSentence(): string {
  return CANNED_SENTENCES[Math.floor(Math.random() * CANNED_SENTENCES.length)]!;
}

const CANNED_EMBEDDING = [0.1, 0.2, 0.3, 0.4, 0.5];

/** The canned embedding as `encoding_format` asks: floats, or base64 of little-endian float32 as OpenAI sends. */
function cannedEmbedding(format: unknown): number[] | string {
  if (format === undefined || format === null || format === "float") return CANNED_EMBEDDING;
  if (format === "base64") return Buffer.from(new Float32Array(CANNED_EMBEDDING).buffer).toString("base64");
  throw new OpenAiError(`'${String(format)}' is not one of ['float', 'base64'] - 'encoding_format'`, "encoding_format");
}

function fakeResponse(path: string, size: string, request: OpenAiRequest | undefined): Buffer {
  switch (path) {
    case "/non-llm-route":
      return Buffer.from(JSON.stringify({ message: "This is a non-LLM endpoint response" }));
    case "/v1/chat/completions": {
      if (size !== "") return sizedChatCompletion(size);
      return Buffer.from(
        JSON.stringify({
          choices: [{ index: 0, message: { role: "assistant", content: cannedSentence() }, finish_reason: "stop" }],
          usage: CANNED_USAGE,
        }),
      );
    }
    case "/v1/embeddings":
      return Buffer.from(
        JSON.stringify({
          object: "list",
          data: [{ object: "embedding", embedding: cannedEmbedding(request?.encodingFormat), index: 0 }],
          model: "some-cool-self-hosted-model",
          usage: { prompt_tokens: 3, total_tokens: 3 },
        }),
      );
    default:
      throw new Expectation(`failed to get the fake response for path ${path}: unknown path: ${path}`);
  }
}
