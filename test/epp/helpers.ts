// Test helpers for the EPP: a mutable Discovery, model servers serving /metrics snapshots on loopback, and an
// ext_proc client stream that collects replies.
import http from "node:http";
import * as grpc from "@grpc/grpc-js";
import type { Discovery, ObjectiveInfo, PodInfo, PoolSpec } from "../../src-host/epp/discovery.js";
import { startEpp, type RunningEpp, type StartEppOptions } from "../../src-host/epp/epp.js";
import { clientConstructors } from "../../src-host/epp/proto.js";

export class TestDiscovery implements Discovery {
  private listeners = new Set<() => void>();
  constructor(
    public poolSpec: PoolSpec | undefined,
    public podList: PodInfo[] = [],
    public objectiveList: ObjectiveInfo[] = [],
  ) {}
  pool() {
    return this.poolSpec;
  }
  pods() {
    return this.podList;
  }
  objectives() {
    return this.objectiveList;
  }
  onChange(listener: () => void) {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  update(change: { pool?: PoolSpec; pods?: PodInfo[]; objectives?: ObjectiveInfo[] }) {
    if (change.pool) this.poolSpec = change.pool;
    if (change.pods) this.podList = change.pods;
    if (change.objectives) this.objectiveList = change.objectives;
    for (const l of this.listeners) l();
  }
}

/** vLLM-style /metrics text. */
export function vllmMetrics(m: {
  waiting?: number;
  running?: number;
  kv?: number;
  kvName?: string;
  lora?: { running: string; waiting: string; max: number };
}): string {
  const kvName = m.kvName ?? "vllm:gpu_cache_usage_perc";
  let text = `# HELP vllm:num_requests_waiting Number of requests waiting to be processed.
# TYPE vllm:num_requests_waiting gauge
vllm:num_requests_waiting{model_name="m"} ${m.waiting ?? 0}
# TYPE vllm:num_requests_running gauge
vllm:num_requests_running{model_name="m"} ${m.running ?? 0}
# TYPE ${kvName} gauge
${kvName}{model_name="m"} ${m.kv ?? 0}
`;
  if (m.lora) {
    text += `# TYPE vllm:lora_requests_info gauge
vllm:lora_requests_info{max_lora="${m.lora.max}",running_lora_adapters="${m.lora.running}",waiting_lora_adapters="${m.lora.waiting}"} 1.7e9
`;
  }
  return text;
}

export interface ModelServers {
  pods: PodInfo[];
  port: number;
  ips: string[];
  /** Replace pod i's /metrics text (a status code makes the scrape fail). */
  setMetrics(i: number, text: string | number): void;
  scrapes(i: number): number;
  /** Resolves once every server has answered `n` more scrapes (so the EPP has seen the current texts). */
  rescraped(n?: number): Promise<void>;
  close(): Promise<void>;
}

/** n HTTP servers on distinct loopback IPs sharing one port (an InferencePool has a single targetPort). */
export async function startModelServers(texts: string[], labels: Record<string, string> = { app: "vllm" }, path = "/metrics"): Promise<ModelServers> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const base = `127.${10 + Math.floor(Math.random() * 200)}.${Math.floor(Math.random() * 250)}`;
    const ips = texts.map((_, i) => `${base}.${i + 1}`);
    const current: (string | number)[] = [...texts];
    const counts = texts.map(() => 0);
    const servers: http.Server[] = [];
    try {
      let port = 0;
      for (let i = 0; i < ips.length; i++) {
        const server = http.createServer((req, res) => {
          if (req.url === path) counts[i]++;
          const body = current[i];
          if (req.url !== path) {
            res.writeHead(404).end();
          } else if (typeof body === "number") {
            res.writeHead(body).end("error");
          } else {
            res.writeHead(200, { "content-type": "text/plain" }).end(body);
          }
        });
        servers.push(server);
        port = await new Promise<number>((resolve, reject) => {
          server.once("error", reject);
          server.listen(port, ips[i], () => resolve((server.address() as { port: number }).port));
        });
      }
      return {
        ips,
        port,
        pods: ips.map((ip, i) => ({ name: `pod-${i}`, namespace: "default", ip, labels, ready: true })),
        setMetrics: (i, text) => {
          current[i] = text;
        },
        scrapes: (i) => counts[i],
        rescraped: (n = 2) => {
          const start = [...counts];
          return until(() => counts.every((c, i) => c >= start[i] + n), "rescrape");
        },
        close: () =>
          Promise.all(
            servers.map(
              (s) =>
                new Promise<void>((r) => {
                  s.close(() => r());
                  s.closeAllConnections();
                }),
            ),
          ).then(() => undefined),
      };
    } catch (err) {
      await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
      if ((err as NodeJS.ErrnoException).code !== "EADDRINUSE") throw err;
    }
  }
  throw new Error("could not bind model servers");
}

export function poolSpec(port: number, extra: Partial<PoolSpec> = {}): PoolSpec {
  return { name: "pool", namespace: "default", selector: { app: "vllm" }, targetPorts: [port], ...extra };
}

export const BASE_ARGS = [
  "--pool-name=pool",
  "--grpc-port=0",
  "--grpc-health-port=0",
  "--metrics-port=0",
  "--secure-serving=false",
  "--refresh-metrics-interval=20ms",
];

export async function startTestEpp(discovery: Discovery, args: string[] = [], extra: Partial<StartEppOptions> = {}): Promise<RunningEpp & { logs: string[] }> {
  const logs: string[] = [];
  const epp = await startEpp({ args: [...BASE_ARGS, ...args], discovery, log: (l) => logs.push(l), ...extra });
  return Object.assign(epp, { logs });
}

/** Resolves once `check` holds, polling every 10 ms (bounded). */
export async function until(check: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

// Message helpers (values in raw_value, as Envoy sends them).
export type Msg = Record<string, unknown>;
export const headersMsg = (headers: Record<string, string>, eos = false, metadata?: Msg): Msg => ({
  request_headers: { headers: { headers: Object.entries(headers).map(([key, v]) => ({ key, raw_value: Buffer.from(v) })) }, end_of_stream: eos },
  ...(metadata ? { metadata_context: metadata } : {}),
});
export const bodyMsg = (body: string | Buffer, eos: boolean): Msg => ({ request_body: { body: Buffer.from(body), end_of_stream: eos } });
export const subsetHint = (endpoints: string[]): Msg => ({
  filter_metadata: {
    "envoy.lb.subset_hint": { fields: { "x-gateway-destination-endpoint-subset": { listValue: { values: endpoints.map((e) => ({ stringValue: e })) } } } },
  },
});

export interface Reply {
  request_headers?: { response: { clear_route_cache?: boolean; header_mutation?: { set_headers: { header: { key: string; raw_value: Buffer } }[] } } };
  request_body?: { response: { body_mutation: { streamed_response: { body?: Buffer; end_of_stream?: boolean } } } };
  response_headers?: { response: { header_mutation: { set_headers: { header: { key: string; raw_value: Buffer } }[] } } };
  response_body?: { response: { body_mutation: { streamed_response: { body?: Buffer; end_of_stream?: boolean } } } };
  immediate_response?: { status: { code: number }; body?: Buffer };
  dynamic_metadata?: { fields: Record<string, { structValue: { fields: Record<string, { stringValue: string }> } }> };
}

/** One ext_proc stream: send messages, await replies one by one, observe the final status. */
export class ExtProcStream {
  private readonly replies: Reply[] = [];
  private waiters: ((r: Reply | undefined) => void)[] = [];
  readonly status: Promise<grpc.StatusObject>;
  private done = false;
  readonly call: grpc.ClientDuplexStream<Msg, Reply>;

  constructor(client: grpc.Client) {
    this.call = (client as unknown as { Process(): grpc.ClientDuplexStream<Msg, Reply> }).Process();
    this.call.on("data", (r: Reply) => {
      const w = this.waiters.shift();
      if (w) w(r);
      else this.replies.push(r);
    });
    this.status = new Promise((resolve) => {
      this.call.on("status", (s: grpc.StatusObject) => {
        this.done = true;
        for (const w of this.waiters.splice(0)) w(undefined);
        resolve(s);
      });
      this.call.on("error", () => undefined); // surfaced through status
    });
  }

  send(...msgs: Msg[]): this {
    for (const m of msgs) this.call.write(m);
    return this;
  }

  /** The next reply; rejects when the stream ends first or nothing arrives in time. */
  next(timeoutMs = 5000): Promise<Reply> {
    const queued = this.replies.shift();
    if (queued) return Promise.resolve(queued);
    if (this.done) return Promise.reject(new Error("stream ended"));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error("no reply in time"));
      }, timeoutMs);
      const waiter = (r: Reply | undefined) => {
        clearTimeout(timer);
        if (r) resolve(r);
        else reject(new Error("stream ended"));
      };
      this.waiters.push(waiter);
    });
  }

  /** Replies already received and not yet taken (after a short settle). */
  async pending(settleMs = 100): Promise<Reply[]> {
    await new Promise((r) => setTimeout(r, settleMs));
    return this.replies.splice(0);
  }

  end(): void {
    this.call.end();
  }
}

export function extProcClient(address: string, secure = false): grpc.Client {
  const creds = secure
    ? grpc.credentials.createSsl(null, null, null, { rejectUnauthorized: false, checkServerIdentity: () => undefined })
    : grpc.credentials.createInsecure();
  // The self-signed certificate names no IP; skip SNI on an IP target (RFC 6066) and the identity check.
  const options = secure ? { "grpc.ssl_target_name_override": "inference-ext" } : {};
  return new (clientConstructors().ExternalProcessor)(address, creds, options);
}

export function healthClient(address: string): grpc.Client {
  return new (clientConstructors().Health)(address, grpc.credentials.createInsecure());
}

export function healthCheck(client: grpc.Client, service = ""): Promise<{ status: number }> {
  return new Promise((resolve, reject) => {
    (client as unknown as { Check(req: Msg, cb: (err: grpc.ServiceError | null, res: { status: number }) => void): void }).Check({ service }, (err, res) =>
      err ? reject(err) : resolve(res),
    );
  });
}

export const headerMap = (set: { header: { key: string; raw_value: Buffer } }[]): Map<string, string> =>
  new Map(set.map((h) => [h.header.key, h.header.raw_value.toString()]));

export async function fetchText(url: string): Promise<{ status: number; text: string }> {
  const res = await fetch(url);
  return { status: res.status, text: await res.text() };
}
