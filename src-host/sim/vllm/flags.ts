// Command-line flags of the vLLM simulator, named and defaulted as llm-d-inference-sim's where they
// overlap (v0.4.0 plus the later per-token latency and KV-cache flags). `--name value` and `--name=value`;
// list flags (`--served-model-name`, `--lora-modules`) take every following argument up to the next flag.
// `--config FILE` reads the same names from YAML; flags given on the command line win.
import { readFileSync } from "node:fs";
import { parse as parseYaml } from "yaml";
import { parseGoDuration } from "../../go/duration.js";

export type LatencyCalculator = "" | "constant" | "per-token";

export interface LoraModule {
  name: string;
  path?: string;
  baseModelName?: string;
}

/** `--fake-metrics`: what /metrics reports instead of the simulated state. */
export interface FakeMetrics {
  runningRequests: number;
  waitingRequests: number;
  kvCacheUsage: number;
  loras: Array<{ running: string; waiting: string; timestamp: number }>;
}

export interface SimConfig {
  model: string;
  servedModelNames: string[];
  port: number;
  maxLoras: number;
  maxCpuLoras: number;
  loraModules: LoraModule[];
  maxNumSeqs: number;
  maxModelLen: number;
  mode: "random" | "echo";
  seed: number;
  /** Latencies in milliseconds. */
  timeToFirstToken: number;
  timeToFirstTokenStdDev: number;
  interTokenLatency: number;
  interTokenLatencyStdDev: number;
  prefillOverhead: number;
  prefillTimePerToken: number;
  prefillTimeStdDev: number;
  latencyCalculator: LatencyCalculator;
  timeFactorUnderLoad: number;
  kvCacheSize: number;
  blockSize: number;
  enablePrefixCaching: boolean;
  fakeMetrics: FakeMetrics | undefined;
}

type Kind = "string" | "int" | "float" | "duration" | "bool" | "list";

interface FlagSpec {
  kind: Kind;
  /** Applies the value; undefined for flags accepted and ignored. */
  set?: (c: SimConfig, v: string | string[], flag: string) => void;
}

const int = (key: keyof SimConfig) => ({
  kind: "int" as const,
  set: (c: SimConfig, v: string | string[], f: string) => assign(c, key, parseIntValue(v as string, f)),
});
const ms = (key: keyof SimConfig) => ({
  kind: "duration" as const,
  set: (c: SimConfig, v: string | string[], f: string) => assign(c, key, parseDuration(v as string, f)),
});

function assign(c: SimConfig, key: keyof SimConfig, value: unknown): void {
  (c as unknown as Record<string, unknown>)[key] = value;
}

const FLAGS: Record<string, FlagSpec> = {
  model: { kind: "string", set: (c, v) => (c.model = v as string) },
  "served-model-name": { kind: "list", set: (c, v) => (c.servedModelNames = v as string[]) },
  port: int("port"),
  "max-loras": int("maxLoras"),
  "max-cpu-loras": int("maxCpuLoras"),
  "lora-modules": { kind: "list", set: (c, v, f) => (c.loraModules = (v as string[]).map((s) => parseLoraModule(s, f))) },
  "max-num-seqs": int("maxNumSeqs"),
  "max-model-len": int("maxModelLen"),
  mode: {
    kind: "string",
    set: (c, v, f) => {
      if (v !== "random" && v !== "echo") throw new Error(`invalid value "${v}" for ${f}: expected random or echo`);
      c.mode = v;
    },
  },
  seed: int("seed"),
  "time-to-first-token": ms("timeToFirstToken"),
  "time-to-first-token-std-dev": ms("timeToFirstTokenStdDev"),
  "inter-token-latency": ms("interTokenLatency"),
  "inter-token-latency-std-dev": ms("interTokenLatencyStdDev"),
  "prefill-overhead": ms("prefillOverhead"),
  "prefill-time-per-token": ms("prefillTimePerToken"),
  "prefill-time-std-dev": ms("prefillTimeStdDev"),
  "latency-calculator": {
    kind: "string",
    set: (c, v, f) => {
      if (v !== "" && v !== "constant" && v !== "per-token") throw new Error(`invalid value "${v}" for ${f}: expected constant or per-token`);
      c.latencyCalculator = v;
    },
  },
  "time-factor-under-load": { kind: "float", set: (c, v, f) => (c.timeFactorUnderLoad = parseFloatValue(v as string, f)) },
  "kv-cache-size": int("kvCacheSize"),
  "block-size": int("blockSize"),
  "enable-prefix-caching": { kind: "bool", set: (c, v, f) => (c.enablePrefixCaching = parseBool(v as string, f)) },
  "fake-metrics": { kind: "string", set: (c, v, f) => (c.fakeMetrics = parseFakeMetrics(v as string, f)) },
  // Accepted and without effect here: logging, KV-cache events over ZMQ, prefill/decode disaggregation
  // transfer latencies, tool-call argument knobs.
  v: { kind: "string" },
  "enable-kvcache": { kind: "bool" },
  "zmq-endpoint": { kind: "string" },
  "zmq-max-connect-attempts": { kind: "string" },
  "event-batch-size": { kind: "string" },
  "tokenizers-cache-dir": { kind: "string" },
  "hash-seed": { kind: "string" },
  "kv-cache-transfer-latency": { kind: "duration" },
  "kv-cache-transfer-latency-std-dev": { kind: "duration" },
  "kv-cache-transfer-time-per-token": { kind: "duration" },
  "kv-cache-transfer-time-std-dev": { kind: "duration" },
  "max-tool-call-integer-param": { kind: "string" },
  "min-tool-call-integer-param": { kind: "string" },
  "max-tool-call-number-param": { kind: "string" },
  "min-tool-call-number-param": { kind: "string" },
  "max-tool-call-array-param-length": { kind: "string" },
  "min-tool-call-array-param-length": { kind: "string" },
  "tool-call-not-required-param-probability": { kind: "string" },
  "object-tool-call-not-required-field-probability": { kind: "string" },
};

function defaults(): SimConfig {
  return {
    model: "",
    servedModelNames: [],
    port: 8000,
    maxLoras: 1,
    maxCpuLoras: 0,
    loraModules: [],
    maxNumSeqs: 5,
    maxModelLen: 1024,
    mode: "random",
    seed: Date.now() % 2 ** 31,
    timeToFirstToken: 0,
    timeToFirstTokenStdDev: 0,
    interTokenLatency: 0,
    interTokenLatencyStdDev: 0,
    prefillOverhead: 0,
    prefillTimePerToken: 0,
    prefillTimeStdDev: 0,
    latencyCalculator: "",
    timeFactorUnderLoad: 1,
    kvCacheSize: 1024,
    blockSize: 16,
    enablePrefixCaching: true,
    fakeMetrics: undefined,
  };
}

/** Parses the simulator's arguments; a bad flag or value throws an error naming it. */
export function parseSimArgs(args: readonly string[]): SimConfig {
  const fromArgs = collect(args);
  const raw = new Map<string, string | string[]>();
  const configFile = fromArgs.get("config");
  if (configFile !== undefined) {
    for (const [k, v] of readConfigFile(configFile as string)) raw.set(k, v);
    fromArgs.delete("config");
  }
  for (const [k, v] of fromArgs) raw.set(k, v);

  const c = defaults();
  for (const [name, value] of raw) FLAGS[name].set?.(c, value, `--${name}`);
  return validate(c);
}

/** Flag name → raw value (a list for list flags), in command-line order. */
function collect(args: readonly string[]): Map<string, string | string[]> {
  const out = new Map<string, string | string[]>();
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (!arg.startsWith("-") || arg === "-" || arg === "--") throw new Error(`unexpected argument "${arg}": flags start with --`);
    const body = arg.replace(/^--?/, "");
    const eq = body.indexOf("=");
    const name = eq < 0 ? body : body.slice(0, eq);
    const inline = eq < 0 ? undefined : body.slice(eq + 1);
    if (name === "config") {
      out.set(name, inline ?? valueAfter(args, i++, name));
      continue;
    }
    const spec = FLAGS[name];
    if (!spec) throw new Error(`unknown flag --${name}`);
    if (spec.kind === "bool") {
      out.set(name, inline ?? "true");
    } else if (spec.kind === "list") {
      const values: string[] = inline !== undefined ? [inline] : [];
      while (inline === undefined && i + 1 < args.length && !args[i + 1].startsWith("--")) values.push(args[++i]);
      if (values.length === 0) throw new Error(`flag --${name} needs at least one value`);
      const prev = out.get(name);
      out.set(name, Array.isArray(prev) ? [...prev, ...values] : values);
    } else {
      out.set(name, inline ?? valueAfter(args, i++, name));
    }
  }
  return out;
}

function valueAfter(args: readonly string[], i: number, name: string): string {
  if (i + 1 >= args.length) throw new Error(`flag --${name} needs a value`);
  return args[i + 1];
}

function readConfigFile(file: string): Map<string, string | string[]> {
  let doc: unknown;
  try {
    doc = parseYaml(readFileSync(file, "utf8"));
  } catch (err) {
    throw new Error(`--config ${file}: ${err instanceof Error ? err.message : String(err)}`);
  }
  const out = new Map<string, string | string[]>();
  if (doc === null || doc === undefined) return out;
  if (typeof doc !== "object" || Array.isArray(doc)) throw new Error(`--config ${file}: expected a mapping of flag names to values`);
  for (const [name, value] of Object.entries(doc)) {
    const spec = FLAGS[name];
    if (!spec) throw new Error(`--config ${file}: unknown key "${name}"`);
    const scalar = (v: unknown) => (typeof v === "object" && v !== null ? JSON.stringify(v) : String(v));
    if (spec.kind === "list") out.set(name, (Array.isArray(value) ? value : [value]).map(scalar));
    else if (spec.kind === "duration" && typeof value === "number") out.set(name, String(value));
    else out.set(name, scalar(value));
  }
  return out;
}

function validate(c: SimConfig): SimConfig {
  if (c.model === "") throw new Error("--model is required");
  if (c.servedModelNames.length === 0) c.servedModelNames = [c.model];
  if (c.port < 0 || c.port > 65535) throw new Error(`invalid value ${c.port} for --port: expected 0..65535`);
  atLeast(c.maxNumSeqs, 1, "--max-num-seqs");
  atLeast(c.maxModelLen, 1, "--max-model-len");
  atLeast(c.maxLoras, 1, "--max-loras");
  if (c.maxCpuLoras === 0) c.maxCpuLoras = c.maxLoras;
  if (c.maxCpuLoras < c.maxLoras) throw new Error(`--max-cpu-loras (${c.maxCpuLoras}) must be at least --max-loras (${c.maxLoras})`);
  atLeast(c.kvCacheSize, 1, "--kv-cache-size");
  if (![8, 16, 32, 64, 128].includes(c.blockSize)) throw new Error(`invalid value ${c.blockSize} for --block-size: expected 8, 16, 32, 64 or 128`);
  if (Math.ceil(c.maxModelLen / c.blockSize) > c.kvCacheSize) {
    throw new Error(`--kv-cache-size ${c.kvCacheSize} blocks of ${c.blockSize} tokens cannot hold one sequence of --max-model-len ${c.maxModelLen}`);
  }
  if (c.timeFactorUnderLoad < 1) throw new Error(`invalid value ${c.timeFactorUnderLoad} for --time-factor-under-load: must be >= 1`);
  stdDev(c.timeToFirstToken, c.timeToFirstTokenStdDev, "--time-to-first-token");
  stdDev(c.interTokenLatency, c.interTokenLatencyStdDev, "--inter-token-latency");
  const names = new Set(c.servedModelNames);
  for (const lora of c.loraModules) {
    if (names.has(lora.name)) throw new Error(`--lora-modules: "${lora.name}" is also a served model name`);
  }
  return c;
}

function atLeast(v: number, min: number, flag: string): void {
  if (v < min) throw new Error(`invalid value ${v} for ${flag}: must be >= ${min}`);
}

function stdDev(mean: number, sd: number, flag: string): void {
  if (sd > 0.3 * mean) throw new Error(`${flag}-std-dev (${sd}ms) must be at most 30% of ${flag} (${mean}ms)`);
}

function parseIntValue(v: string, flag: string): number {
  if (!/^[+-]?\d+$/.test(v.trim())) throw new Error(`invalid value "${v}" for ${flag}: expected an integer`);
  return Number(v);
}

function parseFloatValue(v: string, flag: string): number {
  const n = Number(v);
  if (v.trim() === "" || !Number.isFinite(n)) throw new Error(`invalid value "${v}" for ${flag}: expected a number`);
  return n;
}

function parseBool(v: string, flag: string): boolean {
  if (v === "true" || v === "1") return true;
  if (v === "false" || v === "0") return false;
  throw new Error(`invalid value "${v}" for ${flag}: expected true or false`);
}

/** Milliseconds from a plain number (v0.4.0's form) or a Go duration such as `1.5s` or `100ms`. */
export function parseDuration(v: string, flag: string): number {
  const s = v.trim();
  const ms = /^\d+(\.\d+)?$/.test(s) ? Number(s) : parseGoDuration(s);
  if (ms === undefined || ms < 0) {
    throw new Error(`invalid value "${v}" for ${flag}: expected milliseconds or a duration such as 100ms or 1.5s`);
  }
  return ms;
}

/** A `--lora-modules` entry: JSON `{"name","path","base_model_name"}`, or vLLM's `name=path`. */
function parseLoraModule(s: string, flag: string): LoraModule {
  if (!s.trim().startsWith("{")) {
    const eq = s.indexOf("=");
    const name = eq < 0 ? s : s.slice(0, eq);
    if (name === "") throw new Error(`invalid value "${s}" for ${flag}: empty LoRA name`);
    return eq < 0 ? { name } : { name, path: s.slice(eq + 1) };
  }
  let obj: unknown;
  try {
    obj = JSON.parse(s);
  } catch (err) {
    throw new Error(`invalid value '${s}' for ${flag}: ${err instanceof Error ? err.message : String(err)}`);
  }
  const o = obj as Record<string, unknown>;
  if (typeof o.name !== "string" || o.name === "") throw new Error(`invalid value '${s}' for ${flag}: "name" must be a non-empty string`);
  for (const k of ["path", "base_model_name"]) {
    if (o[k] !== undefined && typeof o[k] !== "string") throw new Error(`invalid value '${s}' for ${flag}: "${k}" must be a string`);
  }
  return { name: o.name, path: o.path as string | undefined, baseModelName: o.base_model_name as string | undefined };
}

function parseFakeMetrics(s: string, flag: string): FakeMetrics {
  let obj: unknown;
  try {
    obj = JSON.parse(s);
  } catch (err) {
    throw new Error(`invalid value '${s}' for ${flag}: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (typeof obj !== "object" || obj === null || Array.isArray(obj)) throw new Error(`invalid value '${s}' for ${flag}: expected a JSON object`);
  const o = obj as Record<string, unknown>;
  const num = (k: string) => {
    const v = o[k] ?? 0;
    if (typeof v !== "number" || v < 0) throw new Error(`invalid value for ${flag}: "${k}" must be a non-negative number`);
    return v;
  };
  const loras = o.loras ?? [];
  if (!Array.isArray(loras)) throw new Error(`invalid value for ${flag}: "loras" must be an array`);
  const kv = num("kv-cache-usage");
  if (kv > 1) throw new Error(`invalid value for ${flag}: "kv-cache-usage" must be within 0..1`);
  return {
    runningRequests: num("running-requests"),
    waitingRequests: num("waiting-requests"),
    kvCacheUsage: kv,
    loras: loras.map((l: unknown) => {
      const e = (l ?? {}) as Record<string, unknown>;
      if (typeof e.timestamp !== "number") throw new Error(`invalid value for ${flag}: each of "loras" needs a numeric "timestamp"`);
      return { running: String(e.running ?? ""), waiting: String(e.waiting ?? ""), timestamp: e.timestamp };
    }),
  };
}
