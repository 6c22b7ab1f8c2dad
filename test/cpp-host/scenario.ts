// One scenario description drives both proxy-wasm hosts (the Node one in src-host/proxy-wasm and
// proxy-wasm-cpp-host in test/cpp-host/host.cc); the runner records what each host shows the outside and
// compare() names the first scenario, stream, callback and values where they disagree.
//
// A scenario (scenarios/*.json):
//   { "name", "config": "seed" | PluginConfig fields over the seed's, "vms": 2,
//     "streams": [{ "vm": 0, "route": { "name", "cluster" },
//                   "request":  { "headers": [[k, v]...], "body": "text" | { "base64" } | { "template", "fill" }, "chunks": n,
//                                 "trailers": [[k, v]...] },
//                   "response": { "headers", "body", "gzip": true, "chunks", "trailers" },
//                   "expect": "local_reply 429 ..." }],
//     "epp": "pick" | "immediate" | "drop" | "silent" }
// With an EPP or a rate limit service the runner waits (up to 15 s) for the request to reach the upstream or be answered, and then
// for the EPP's log to settle: callouts and their answers are asynchronous in both hosts.
// A body split into `chunks` pieces is sent as that many data frames; without a body the headers end the
// stream; `trailers` end it after the body. The response is sent only when the request reached the
// upstream whole and no local reply was sent (as a data plane would). Request trailers need the filter of
// issue #11: a scenario with them may fail until then.
import { gzipSync } from "node:zlib";

export type HeaderList = Array<[string, string]>;
/** Text, bytes, or a text whose "{fill}" becomes `fill` × "x" (large bodies without large files). */
export type Body = string | { base64: string } | { template: string; fill: number };

export interface Message {
  headers: HeaderList;
  body?: Body;
  gzip?: boolean;
  chunks?: number;
  trailers?: HeaderList;
}

export interface StreamSpec {
  vm?: number;
  route?: { name: string; cluster: string };
  request: Message;
  response?: Message;
  /** An output the stream must show (its first line), so that a scenario cannot pass by doing nothing. */
  expect?: string;
  /** Text that output must also hold (e.g. a header line it forwards), and text none of its outputs may hold. */
  holds?: string;
  lacks?: string;
}

export interface Scenario {
  name: string;
  /** Why the scenario cannot pass yet (the test is skipped and says so). */
  pending?: string;
  /** The pools' Endpoint Picker: a scripted ext_proc server on loopback (epp-peer.ts), one per host. */
  epp?: "pick" | "immediate" | "drop" | "silent";
  /** Global rate limits: the project's rate limit service (src-host/ratelimit) on loopback, one per host. */
  ratelimit?: boolean;
  config?: "seed" | Record<string, unknown>;
  /** The VMs' environment variables (Envoy's vm_config.environment_variables), e.g. backend credentials. */
  env?: Record<string, string>;
  vms?: number;
  streams: StreamSpec[];
}

/** What a host showed the outside for one stream, in the order it happened. */
export interface StreamRecord {
  /** Data-plane effects: forwarded headers/data/trailers, local replies, resets, route-cache clears. */
  effects: string[];
  /** Each filter callback's converted return value, in call order: "on_request_body=1". */
  returns: string[];
  /** Filter state after the stream (wasm.<key> → value). */
  filterState: Record<string, string>;
}

export interface Observation {
  started: boolean[];
  streams: StreamRecord[];
  /** Stats after the scenario: name → "counter 3" | "gauge 1" | "histogram count=2 sum=10". */
  metrics: Record<string, string>;
  /** Logs at warn and above, "vm<i> <level> <message>", in order. */
  logs: string[];
  /** What the gRPC peers received (the EPP's log), filled in by the test. */
  callouts?: string[];
}

/** The calls a host accepts; each resolves once the host has handled the call and its deferred actions. */
export interface Host {
  stream(id: number, vm: number, route?: { name: string; cluster: string }): Promise<void>;
  requestHeaders(id: number, h: HeaderList, eos: boolean): Promise<void>;
  requestData(id: number, d: Uint8Array, eos: boolean): Promise<void>;
  requestTrailers(id: number, t: HeaderList): Promise<void>;
  responseHeaders(id: number, h: HeaderList, eos: boolean): Promise<void>;
  responseData(id: number, d: Uint8Array, eos: boolean): Promise<void>;
  responseTrailers(id: number, t: HeaderList): Promise<void>;
  end(id: number): Promise<void>;
  /** The records so far (streams by id), the stats and the logs. */
  observe(): Promise<Observation>;
  close(): Promise<void>;
}

export function bodyBytes(m: Message): Uint8Array {
  if (m.body === undefined) return new Uint8Array(0);
  const b = m.body;
  const raw =
    typeof b === "string"
      ? Buffer.from(b, "utf8")
      : "base64" in b
        ? Buffer.from(b.base64, "base64")
        : Buffer.from(b.template.replace("{fill}", "x".repeat(b.fill)), "utf8");
  return m.gzip ? gzipSync(raw) : raw;
}

function pieces(bytes: Uint8Array, n: number): Uint8Array[] {
  if (bytes.length === 0) return [];
  const size = Math.ceil(bytes.length / Math.max(1, n));
  const out: Uint8Array[] = [];
  for (let i = 0; i < bytes.length; i += size) out.push(bytes.subarray(i, i + size));
  return out;
}

/** Sends one message's frames through `send`; the last frame carries end of stream. */
async function sendMessage(
  m: Message,
  headers: (h: HeaderList, eos: boolean) => Promise<void>,
  data: (d: Uint8Array, eos: boolean) => Promise<void>,
  trailers: (t: HeaderList) => Promise<void>,
  stop: () => boolean,
): Promise<void> {
  const frames = pieces(bodyBytes(m), m.chunks ?? 1);
  // Copies: a host may change the header list it is handed (the Node host edits it in place).
  const copy = (h: HeaderList): HeaderList => h.map(([k, v]) => [k, v]);
  await headers(copy(m.headers), frames.length === 0 && !m.trailers);
  for (let i = 0; i < frames.length && !stop(); i++) await data(frames[i]!, i === frames.length - 1 && !m.trailers);
  if (m.trailers && !stop()) await trailers(copy(m.trailers));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `done` every 10 ms for up to `ms`. */
async function waitFor(done: () => Promise<boolean>, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!(await done()) && Date.now() < end) await sleep(10);
}

/** Runs the scenario's streams one after the other on `host`; `settled` says when its peers are quiet. */
export async function run(s: Scenario, host: Host, settled: () => Promise<void> = async () => {}): Promise<Observation> {
  for (const [i, spec] of s.streams.entries()) {
    const id = i + 1;
    await host.stream(id, spec.vm ?? 0, spec.route);
    const effects = async () => (await host.observe()).streams[id - 1]?.effects ?? [];
    const replied = async () => (await effects()).some((e) => e.startsWith("local_reply") || e.startsWith("reset"));
    let stopped = false;
    const stop = () => stopped;
    const step = async (f: () => Promise<void>) => {
      await f();
      stopped = await replied();
    };
    await sendMessage(
      spec.request,
      (h, eos) => step(() => host.requestHeaders(id, h, eos)),
      (d, eos) => step(() => host.requestData(id, d, eos)),
      (t) => step(() => host.requestTrailers(id, t)),
      stop,
    );
    const upstream = async () => (await effects()).some((e) => /^req_(headers|data) eos=1|^req_trailers/.test(e));
    if (s.epp || s.ratelimit) await waitFor(async () => (await upstream()) || (await replied()), 15_000);
    stopped = await replied();
    const reachedUpstream = await upstream();
    if (spec.response && reachedUpstream && !stopped) {
      await sendMessage(
        spec.response,
        (h, eos) => step(() => host.responseHeaders(id, h, eos)),
        (d, eos) => step(() => host.responseData(id, d, eos)),
        (t) => step(() => host.responseTrailers(id, t)),
        stop,
      );
    }
    await settled();
    await host.end(id);
    await settled(); // what the stream's end sends (the rate limit charge, the EPP's close) lands first
  }
  return host.observe();
}

/** The first disagreement, named by scenario, stream and callback or output, with both values; or undefined. */
export function compare(name: string, node: Observation, cpp: Observation): string | undefined {
  const differ = (what: string, a: unknown, b: unknown) => `${name}: ${what}: Node host ${JSON.stringify(a)} ≠ cpp-host ${JSON.stringify(b)}`;
  if (JSON.stringify(node.started) !== JSON.stringify(cpp.started)) return differ("VM start (on_vm_start, on_configure)", node.started, cpp.started);
  const n = Math.max(node.streams.length, cpp.streams.length);
  for (let i = 0; i < n; i++) {
    const a = node.streams[i];
    const b = cpp.streams[i];
    if (!a || !b) return differ(`stream ${i + 1}`, a, b);
    // Per callback, in call order. Across callbacks the order of *returns* differs by design: cpp-host runs
    // a local reply (and so the response callbacks) before the callback that sent it returns to the filter
    // manager, the Node host right after; the module sees the same sequence of calls in both.
    for (const cb of STATUS_NAMES) {
      const ra = a.returns.filter((r) => r.startsWith(`${cb}=`));
      const rb = b.returns.filter((r) => r.startsWith(`${cb}=`));
      for (let k = 0; k < Math.max(ra.length, rb.length); k++) {
        if (ra[k] !== rb[k]) return differ(`stream ${i + 1}, ${cb} call #${k + 1} return value`, ra[k], rb[k]);
      }
    }
    for (let k = 0; k < Math.max(a.effects.length, b.effects.length); k++) {
      if (a.effects[k] !== b.effects[k])
        return differ(`stream ${i + 1}, output #${k + 1} (after ${a.returns.join(", ") || "no callback"})`, a.effects[k], b.effects[k]);
    }
    if (JSON.stringify(sorted(a.filterState)) !== JSON.stringify(sorted(b.filterState)))
      return differ(`stream ${i + 1}, filter state`, a.filterState, b.filterState);
  }
  if (JSON.stringify(sorted(node.metrics)) !== JSON.stringify(sorted(cpp.metrics))) return differ("metrics", sorted(node.metrics), sorted(cpp.metrics));
  if (JSON.stringify(node.logs) !== JSON.stringify(cpp.logs)) return differ("logs at warn and above", node.logs, cpp.logs);
  const calls = Math.max(node.callouts?.length ?? 0, cpp.callouts?.length ?? 0);
  for (let k = 0; k < calls; k++) {
    if (node.callouts?.[k] !== cpp.callouts?.[k]) return differ(`gRPC peer's message #${k + 1}`, node.callouts?.[k], cpp.callouts?.[k]);
  }
  return undefined;
}

function sorted(o: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(o).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)));
}

const text = new TextDecoder("utf-8", { fatal: false });
// Seconds until a token window resets (x-ratelimit-reset, "retry in Ns") come from each host's clock at a
// slightly different moment: compared as present, not by value.
const TIME_DERIVED = new Set(["x-ratelimit-reset"]);
const untimed = (b: Uint8Array) => text.decode(b).replace(/retry in \d+s/g, "retry in <seconds>s");
// A reply that says when to retry carries those seconds in its body too, so its length has one digit more
// or less when the two hosts straddle a power of ten (213 and 214 bytes seen in CI): its content-length is
// compared as present; the body itself is compared with the seconds masked.
const pairs = (h: HeaderList) => {
  const timed = h.some(([k]) => TIME_DERIVED.has(k));
  return h.map(([k, v]) => `${k}: ${TIME_DERIVED.has(k) ? "<seconds>" : timed && k === "content-length" ? "<length>" : v}`).join("\n");
};

/** Effects as both recorders write them. */
export const effect = {
  headers: (dir: "req" | "resp", h: HeaderList, eos: boolean) => `${dir}_headers eos=${eos ? 1 : 0}\n${pairs(h)}`,
  data: (dir: "req" | "resp", d: Uint8Array, eos: boolean) => `${dir}_data eos=${eos ? 1 : 0} ${untimed(d)}`,
  trailers: (dir: "req" | "resp", t: HeaderList) => `${dir}_trailers\n${pairs(t)}`,
  localReply: (status: number, headers: HeaderList, body: Uint8Array, details: string) =>
    `local_reply ${status} ${details}\n${pairs(headers)}\n${untimed(body)}`,
  reset: (details: string) => `reset ${details}`,
  clearRouteCache: () => "clear_route_cache",
};

export const STATUS_NAMES = ["on_request_headers", "on_request_body", "on_request_trailers", "on_response_headers", "on_response_body", "on_response_trailers"];
