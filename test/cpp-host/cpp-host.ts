// proxy-wasm-cpp-host (test/cpp-host/host.cc, built by `make cpp-host`) behind the scenario runner's Host
// interface: one child process, one command line per call, its observations parsed back.
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { createInterface } from "node:readline";
import type { ClusterConfig } from "../../src-host/dataplane-api/bootstrap.js";
import { GrpcClients, type GrpcStreamHandle } from "../../src-host/proxy-wasm/callouts/grpc.js";
import { parseGrpcService } from "../../src-host/proxy-wasm/proto.js";
import { effect, type HeaderList, type Host, type Observation, type StreamRecord } from "./scenario.js";

export const CPP_HOST_DIR = "build/cpp-host";
/** Why the C++ host was not built (written by test/cpp-host/build.sh), or undefined when it was. */
export function cppHostMissing(): string | undefined {
  const skipped = `${CPP_HOST_DIR}/SKIPPED`;
  if (existsSync(skipped)) return readFileSync(skipped, "utf8").trim();
  for (const flavour of ["scalar", "simd"]) {
    if (!existsSync(`${CPP_HOST_DIR}/aigw-cpp-host-${flavour}`)) return `${CPP_HOST_DIR}/aigw-cpp-host-${flavour} is not built (make cpp-host)`;
  }
  return undefined;
}

const LOG_WARN = 3;
const hex = (b: Uint8Array | string) => (b.length === 0 ? "-" : Buffer.from(b as Uint8Array).toString("hex"));
const unhex = (s: string) => (s === "-" ? Buffer.alloc(0) : Buffer.from(s, "hex"));
const pairsOut = (h: HeaderList) => [String(h.length), ...h.flatMap(([k, v]) => [hex(Buffer.from(k, "latin1")), hex(Buffer.from(v, "latin1"))])].join(" ");
function pairsIn(words: string[]): HeaderList {
  const n = Number(words[0]);
  const out: HeaderList = [];
  for (let i = 0; i < n; i++) out.push([unhex(words[1 + 2 * i]!).toString("latin1"), unhex(words[2 + 2 * i]!).toString("latin1")]);
  return out;
}

export class CppHost implements Host {
  private readonly records: StreamRecord[] = [];
  private readonly logs: string[] = [];
  private metrics: Record<string, string> = {};
  private readonly started: boolean[] = [];
  private readonly waiting: Array<{ resolve: () => void; reject: (e: Error) => void }> = [];
  private readonly stderr: string[] = [];
  private exited?: string;
  // gRPC callouts go to real servers on loopback, over the Node host's own gRPC client.
  private readonly grpc = new GrpcClients();
  private readonly grpcStreams = new Map<string, GrpcStreamHandle>();
  private readonly grpcCalls = new Map<string, { cancel(): void }>();
  private readonly ticks = new Map<string, NodeJS.Timeout>();
  private clusters = new Map<string, ClusterConfig>();
  private benchResult = NaN;

  private constructor(private readonly child: ChildProcessWithoutNullStreams) {
    createInterface({ input: child.stdout }).on("line", (line) => this.onLine(line));
    child.stderr.on("data", (d) => this.stderr.push(String(d)));
    child.on("exit", (code, signal) => {
      this.exited = `cpp-host exited (${signal ?? code}): ${this.stderr.join("").slice(-2000)}`;
      for (const w of this.waiting.splice(0)) w.reject(new Error(this.exited));
    });
  }

  /** Starts `vms` worker VMs of `module` in the host built for it (scalar WAMR or SIMD WAMR). */
  /** `env`: variables of the host process the VMs see (Envoy's host_env_keys). */
  static async start(
    flavour: "scalar" | "simd",
    module: string,
    configuration: string,
    vmId: string,
    rootId: string,
    vms: number,
    clusters: ClusterConfig[] = [],
    env: Record<string, string> = {},
  ): Promise<CppHost> {
    const configFile = `${CPP_HOST_DIR}/plugin-${process.pid}-${vmId}.json`;
    writeFileSync(configFile, configuration);
    const keys = Object.keys(env);
    const args = [module, configFile, vmId, rootId, String(vms), ...(keys.length > 0 ? [keys.join(",")] : [])];
    const child = spawn(`${CPP_HOST_DIR}/aigw-cpp-host-${flavour}`, args, { env: { ...process.env, ...env } });
    const host = new CppHost(child);
    host.clusters = new Map(clusters.map((c) => [c.name, c]));
    await host.next();
    return host;
  }

  private next(): Promise<void> {
    if (this.exited) return Promise.reject(new Error(this.exited));
    return new Promise((resolve, reject) => this.waiting.push({ resolve, reject }));
  }

  private send(line: string): Promise<void> {
    const done = this.next();
    this.child.stdin.write(`${line}\n`);
    return done;
  }

  private rec(sid: string): StreamRecord {
    return this.records[Number(sid) - 1]!;
  }

  private onLine(line: string): void {
    const w = line.split(" ");
    switch (w[0]) {
      case "done":
        this.waiting.shift()?.resolve();
        return;
      case "started":
        this.started[Number(w[1])] = w[2] === "1";
        return;
      case "load_failed":
        this.started[Number(w[1])] = false;
        return;
      case "ret":
        this.rec(w[1]!).returns.push(`${w[2]}=${w[3]}`);
        return;
      case "fwd": {
        const r = this.rec(w[1]!);
        const [dir, what] = w[2]!.split("_") as ["req" | "resp", string];
        if (what === "headers") r.effects.push(effect.headers(dir, pairsIn(w.slice(4)), w[3] === "1"));
        else if (what === "data") r.effects.push(effect.data(dir, unhex(w[4]!), w[3] === "1"));
        else r.effects.push(effect.trailers(dir, pairsIn(w.slice(3))));
        return;
      }
      case "local_reply":
        this.rec(w[1]!).effects.push(effect.localReply(Number(w[2]), pairsIn(w.slice(6)), unhex(w[4]!), unhex(w[3]!).toString("utf8")));
        return;
      case "reset":
        this.rec(w[1]!).effects.push(effect.reset(unhex(w[2]!).toString("utf8")));
        return;
      case "clear_route_cache":
        this.rec(w[1]!).effects.push(effect.clearRouteCache());
        return;
      case "filter_state":
        this.rec(w[1]!).filterState[unhex(w[2]!).toString("utf8")] = unhex(w[3]!).toString("utf8");
        return;
      case "log":
        if (Number(w[2]) >= LOG_WARN) this.logs.push(`vm${w[1]} ${w[2]} ${unhex(w[3]!).toString("utf8")}`);
        return;
      case "metric": {
        const [name, type, value] = [unhex(w[1]!).toString("utf8"), Number(w[2]), w[3]];
        this.metrics[name] = type === 0 ? `counter ${value}` : type === 1 ? `gauge ${value}` : `histogram count=${value}`;
        return;
      }
      case "bench":
        this.benchResult = Number(w[1]);
        return;
      case "tick_period":
        this.setTick(w[1]!, Number(w[2]));
        return;
      case "grpc_stream":
        this.openStream(w);
        return;
      case "grpc_call":
        this.call(w);
        return;
      case "grpc_send":
        this.grpcStreams.get(w[1]!)?.send(unhex(w[3]!), w[2] === "1");
        return;
      case "grpc_close": // closing a unary call cancels it, as in Envoy
      case "grpc_cancel":
        if (w[0] === "grpc_close" && this.grpcStreams.has(w[1]!)) return void this.grpcStreams.get(w[1]!)!.close();
        this.grpcStreams.get(w[1]!)?.cancel();
        this.grpcStreams.delete(w[1]!);
        this.grpcCalls.get(w[1]!)?.cancel();
        this.grpcCalls.delete(w[1]!);
        return;
      default:
        // HTTP callouts: no scenario uses them yet.
        this.logs.push(`cpp-host: ${line.slice(0, 200)}`);
    }
  }

  /** Envoy's tick timer for a VM's root context: the driver calls proxy_on_tick at the period. */
  private setTick(vm: string, periodMs: number): void {
    clearInterval(this.ticks.get(vm));
    this.ticks.delete(vm);
    if (periodMs > 0)
      this.ticks.set(
        vm,
        setInterval(() => void this.send(`tick ${vm}`).catch(() => {}), periodMs),
      );
  }

  /** The cluster a serialized GrpcService (or a bare cluster name) names, and its initial metadata. */
  private target(serviceHex: string) {
    const service = unhex(serviceHex);
    const parsed = parseGrpcService(service);
    const cluster = this.clusters.get(parsed?.clusterName ?? service.toString("utf8"));
    return { cluster, authority: parsed?.authority, metadata: parsed?.initialMetadata ?? [] };
  }

  /** grpc_call VM TOKEN SERVICE SERVICE_NAME METHOD TIMEOUT REQUEST METADATA: one answer, or a close. */
  private call(w: string[]): void {
    const token = w[2]!;
    const t = this.target(w[3]!);
    const path = `/${unhex(w[4]!).toString("utf8")}/${unhex(w[5]!).toString("utf8")}`;
    const deliver = (line: string) => {
      if (!this.grpcCalls.delete(token)) return;
      void this.send(line).catch(() => {});
    };
    this.grpcCalls.set(token, { cancel: () => {} });
    if (!t.cluster) return deliver(`grpc_close ${token} 14 ${hex("no cluster")}`);
    this.grpcCalls.set(
      token,
      this.grpc.unary(
        { cluster: t.cluster, endpoint: t.cluster.endpoints[0], authority: t.authority },
        path,
        [...t.metadata, ...pairsIn(w.slice(8))],
        unhex(w[7]!),
        Number(w[6]),
        {
          onMessage: (m) => deliver(`grpc_message ${token} ${hex(m)}`),
          onClose: (code, msg) => deliver(`grpc_close ${token} ${code} ${hex(Buffer.from(msg, "utf8"))}`),
        },
      ),
    );
  }

  /** grpc_stream VM TOKEN SERVICE SERVICE_NAME METHOD METADATA: opened on the cluster the GrpcService names. */
  private openStream(w: string[]): void {
    const token = w[2]!;
    const { cluster, authority, metadata } = this.target(w[3]!);
    const path = `/${unhex(w[4]!).toString("utf8")}/${unhex(w[5]!).toString("utf8")}`;
    // Nothing arrives for a stream the filter cancelled (Envoy resets it).
    const deliver = (line: string) => void (this.grpcStreams.has(token) && this.send(line).catch(() => {}));
    if (!cluster) return deliver(`grpc_close ${token} 14 ${hex("no cluster")}`);
    const handle = this.grpc.stream({ cluster, endpoint: cluster.endpoints[0], authority }, path, [...metadata, ...pairsIn(w.slice(6))], {
      onInitialMetadata: (md) => deliver(`grpc_metadata ${token} initial ${pairsOut(md)}`),
      onMessage: (m) => deliver(`grpc_message ${token} ${hex(m)}`),
      onTrailingMetadata: (md) => deliver(`grpc_metadata ${token} trailing ${pairsOut(md)}`),
      onClose: (code, msg) => {
        deliver(`grpc_close ${token} ${code} ${hex(Buffer.from(msg, "utf8"))}`);
        this.grpcStreams.delete(token);
      },
    });
    this.grpcStreams.set(token, handle);
  }

  async stream(id: number, vm: number, route?: { name: string; cluster: string }): Promise<void> {
    this.records[id - 1] = { effects: [], returns: [], filterState: {} };
    await this.send(`stream ${id} ${vm} ${route ? `${hex(route.name)} ${hex(route.cluster)}` : "none none"}`);
  }
  requestHeaders(id: number, h: HeaderList, eos: boolean) {
    return this.send(`req_headers ${id} ${eos ? 1 : 0} ${pairsOut(h)}`);
  }
  requestData(id: number, d: Uint8Array, eos: boolean) {
    return this.send(`req_data ${id} ${eos ? 1 : 0} ${hex(d)}`);
  }
  requestTrailers(id: number, t: HeaderList) {
    return this.send(`req_trailers ${id} ${pairsOut(t)}`);
  }
  responseHeaders(id: number, h: HeaderList, eos: boolean) {
    return this.send(`resp_headers ${id} ${eos ? 1 : 0} ${pairsOut(h)}`);
  }
  responseData(id: number, d: Uint8Array, eos: boolean) {
    return this.send(`resp_data ${id} ${eos ? 1 : 0} ${hex(d)}`);
  }
  responseTrailers(id: number, t: HeaderList) {
    return this.send(`resp_trailers ${id} ${pairsOut(t)}`);
  }
  end(id: number) {
    return this.send(`end ${id}`);
  }

  /** CPU µs per stream of `n` streams run inside the host (POST `path` with `body`, JSON `response`). */
  async bench(n: number, path: string, body: Uint8Array, response: Uint8Array): Promise<number> {
    await this.send(`bench ${n} ${hex(Buffer.from(path))} ${hex(body)} ${hex(response)}`);
    return this.benchResult;
  }

  async observe(): Promise<Observation> {
    this.metrics = {};
    await this.send("metrics");
    return { started: [...this.started], streams: [...this.records], metrics: { ...this.metrics }, logs: [...this.logs] };
  }

  async close(): Promise<void> {
    for (const t of this.ticks.values()) clearInterval(t);
    this.grpc.close();
    if (this.exited) return;
    const exited = new Promise((r) => this.child.once("exit", r));
    this.child.stdin.end("quit\n");
    await exited;
  }
}
