// Command-line flags of the GIE v1.0.x EPP (cmd/epp/runner), parsed with Go's flag package rules:
// `-name`/`--name`, `--name=value` or `--name value` (booleans only as `--name` or `--name=value`), `--` ends flags,
// int/bool/duration values in Go syntax. An unknown flag is an error naming it; so is a stray positional argument
// (Go would silently stop parsing there, dropping every later flag).
import { parseGoDuration } from "../go/duration.js";

export type FlagKind = "string" | "int" | "bool" | "duration";

export interface FlagDef {
  name: string;
  kind: FlagKind;
  /** Default value: string, number (ints; durations in milliseconds) or boolean. */
  def: string | number | boolean;
  help: string;
}

export type FlagValues = Record<string, string | number | boolean>;

export const EPP_FLAG_DEFS: readonly FlagDef[] = [
  { name: "pool-name", kind: "string", def: "", help: "Name of the InferencePool this Endpoint Picker is associated with." },
  { name: "pool-namespace", kind: "string", def: "default", help: "Namespace of the InferencePool this Endpoint Picker is associated with." },
  { name: "pool-group", kind: "string", def: "inference.networking.k8s.io", help: "group of the InferencePool this Endpoint Picker is associated with." },
  { name: "grpc-port", kind: "int", def: 9002, help: "The gRPC port used for communicating with Envoy proxy" },
  { name: "grpc-health-port", kind: "int", def: 9003, help: "The port used for gRPC liveness and readiness probes" },
  { name: "metrics-port", kind: "int", def: 9090, help: "The metrics port" },
  { name: "enable-pprof", kind: "bool", def: true, help: "Enables pprof handlers (accepted; this EPP serves no pprof)." },
  { name: "ha-enable-leader-election", kind: "bool", def: false, help: "Enables leader election (accepted; this EPP always runs as the only replica)." },
  { name: "v", kind: "int", def: 2, help: "number for the log level verbosity" },
  { name: "secure-serving", kind: "bool", def: true, help: "Enables secure serving. Defaults to true." },
  { name: "health-checking", kind: "bool", def: false, help: "Enables health checking" },
  {
    name: "cert-path",
    kind: "string",
    def: "",
    help: "Directory with tls.crt and tls.key for secure serving; a self-signed certificate is generated when unset.",
  },
  { name: "total-queued-requests-metric", kind: "string", def: "vllm:num_requests_waiting", help: "Prometheus metric for the number of queued requests." },
  { name: "total-running-requests-metric", kind: "string", def: "vllm:num_requests_running", help: "Prometheus metric for the number of running requests." },
  {
    name: "kv-cache-usage-percentage-metric",
    kind: "string",
    def: "vllm:gpu_cache_usage_perc",
    help: "Prometheus metric for the fraction of KV-cache blocks currently in use (from 0 to 1).",
  },
  {
    name: "lora-info-metric",
    kind: "string",
    def: "vllm:lora_requests_info",
    help: "Prometheus metric for the LoRA info metrics (must be in vLLM label format).",
  },
  { name: "refresh-metrics-interval", kind: "duration", def: 50, help: "interval to refresh metrics" },
  { name: "refresh-prometheus-metrics-interval", kind: "duration", def: 5000, help: "interval to flush prometheus metrics" },
  { name: "metrics-staleness-threshold", kind: "duration", def: 2000, help: "Duration after which metrics are considered stale." },
  { name: "config-file", kind: "string", def: "", help: "The path to the configuration file" },
  { name: "config-text", kind: "string", def: "", help: "The configuration specified as text, in lieu of a file" },
  { name: "model-server-metrics-port", kind: "int", def: 0, help: "Port to scrape metrics from pods (0: the pool's targetPorts[0])." },
  { name: "model-server-metrics-path", kind: "string", def: "/metrics", help: "Path to scrape metrics from pods" },
  { name: "model-server-metrics-scheme", kind: "string", def: "http", help: "Scheme to scrape metrics from pods" },
  { name: "model-server-metrics-https-insecure-skip-verify", kind: "bool", def: true, help: "Skip certificate verification for https scraping" },
  // controller-runtime zap flags (Development mode, as the EPP sets it).
  { name: "zap-devel", kind: "bool", def: true, help: "Development mode defaults (console encoder)." },
  { name: "zap-encoder", kind: "string", def: "", help: "Zap log encoding (one of 'json' or 'console')" },
  { name: "zap-log-level", kind: "string", def: "", help: "Zap level: 'debug', 'info', 'error', or an integer > 0 (overrides --v)." },
  { name: "zap-stacktrace-level", kind: "string", def: "", help: "Zap level at and above which stacktraces are captured ('info', 'error', 'panic')." },
  { name: "zap-time-encoding", kind: "string", def: "rfc3339", help: "Zap time encoding ('epoch', 'millis', 'nano', 'iso8601', 'rfc3339' or 'rfc3339nano')." },
];

export interface EppFlags {
  poolName: string;
  poolNamespace: string;
  poolGroup: string;
  grpcPort: number;
  grpcHealthPort: number;
  metricsPort: number;
  verbosity: number;
  secureServing: boolean;
  healthChecking: boolean;
  certPath: string;
  totalQueuedRequestsMetric: string;
  totalRunningRequestsMetric: string;
  kvCacheUsagePercentageMetric: string;
  loraInfoMetric: string;
  refreshMetricsIntervalMs: number;
  refreshPrometheusMetricsIntervalMs: number;
  metricsStalenessThresholdMs: number;
  configFile: string;
  configText: string;
  modelServerMetricsPort: number;
  modelServerMetricsPath: string;
  modelServerMetricsScheme: "http" | "https";
  modelServerMetricsInsecureSkipVerify: boolean;
  zapEncoder: "json" | "console";
  zapTimeEncoding: "rfc3339" | "rfc3339nano" | "iso8601" | "epoch" | "millis" | "nano";
}

/** Parses arguments against `defs` the way Go's flag package does. */
export function parseGoFlags(args: readonly string[], defs: readonly FlagDef[]): FlagValues {
  const byName = new Map(defs.map((d) => [d.name, d]));
  const values: FlagValues = Object.fromEntries(defs.map((d) => [d.name, d.def]));
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--") {
      if (i + 1 < args.length) throw new Error(`unexpected argument ${JSON.stringify(args[i + 1])}`);
      break;
    }
    if (!arg.startsWith("-") || arg === "-") {
      throw new Error(`unexpected argument ${JSON.stringify(arg)} (flags are --name=value; booleans take --name or --name=false)`);
    }
    const body = arg.startsWith("--") ? arg.slice(2) : arg.slice(1);
    if (body === "" || body.startsWith("-") || body.startsWith("=")) throw new Error(`bad flag syntax: ${arg}`);
    const eq = body.indexOf("=");
    const name = eq >= 0 ? body.slice(0, eq) : body;
    const def = byName.get(name);
    if (!def) throw new Error(`flag provided but not defined: -${name}`);
    let raw: string;
    if (eq >= 0) raw = body.slice(eq + 1);
    else if (def.kind === "bool") raw = "true";
    else {
      if (i + 1 >= args.length) throw new Error(`flag needs an argument: -${name}`);
      raw = args[++i];
    }
    values[name] = convert(def, raw);
  }
  return values;
}

function convert(def: FlagDef, raw: string): string | number | boolean {
  const bad = (why = "parse error") => new Error(`invalid value ${JSON.stringify(raw)} for flag -${def.name}: ${why}`);
  switch (def.kind) {
    case "string":
      return raw;
    case "bool": {
      if (["1", "t", "T", "TRUE", "true", "True"].includes(raw)) return true;
      if (["0", "f", "F", "FALSE", "false", "False"].includes(raw)) return false;
      throw bad();
    }
    case "int": {
      if (!/^[+-]?\d+$/.test(raw)) throw bad();
      const n = Number(raw);
      if (!Number.isSafeInteger(n)) throw bad("value out of range");
      return n;
    }
    case "duration": {
      const ms = parseGoDuration(raw);
      if (ms === undefined) throw bad();
      return ms;
    }
  }
}

/** The EPP's flags, validated as the v1.0.x runner does. */
export function parseEppFlags(args: readonly string[]): EppFlags {
  return toEppFlags(parseGoFlags(args, EPP_FLAG_DEFS));
}

export function toEppFlags(v: FlagValues): EppFlags {
  const str = (n: string) => v[n] as string;
  const num = (n: string) => v[n] as number;
  const bool = (n: string) => v[n] as boolean;
  if (str("pool-name") === "") throw new Error(`required "pool-name" flag not set`);
  if (str("config-file") !== "" && str("config-text") !== "") {
    throw new Error("the --config-file and --config-text flags are mutually exclusive");
  }
  for (const port of ["grpc-port", "grpc-health-port", "metrics-port", "model-server-metrics-port"]) {
    if (num(port) < 0 || num(port) > 65535) throw new Error(`invalid value ${num(port)} for flag -${port}: port out of range`);
  }
  for (const d of ["refresh-metrics-interval", "refresh-prometheus-metrics-interval", "metrics-staleness-threshold"]) {
    if (num(d) <= 0) throw new Error(`flag -${d} must be a positive duration`);
  }
  const scheme = str("model-server-metrics-scheme");
  if (scheme !== "http" && scheme !== "https") throw new Error(`invalid value "${scheme}" for flag -model-server-metrics-scheme: must be http or https`);
  const encoder = str("zap-encoder") || (bool("zap-devel") ? "console" : "json");
  if (encoder !== "json" && encoder !== "console")
    throw new Error(`invalid value "${encoder}" for flag -zap-encoder: unrecognized encoder (use json or console)`);
  const time = str("zap-time-encoding");
  if (!["rfc3339", "rfc3339nano", "iso8601", "epoch", "millis", "nano"].includes(time)) {
    throw new Error(`invalid value "${time}" for flag -zap-time-encoding: unrecognized time encoding`);
  }
  const stack = str("zap-stacktrace-level");
  if (stack !== "" && !["info", "error", "panic"].includes(stack)) {
    throw new Error(`invalid value "${stack}" for flag -zap-stacktrace-level: unrecognized level`);
  }
  return {
    poolName: str("pool-name"),
    poolNamespace: str("pool-namespace"),
    poolGroup: str("pool-group"),
    grpcPort: num("grpc-port"),
    grpcHealthPort: num("grpc-health-port"),
    metricsPort: num("metrics-port"),
    verbosity: verbosity(str("zap-log-level"), num("v")),
    secureServing: bool("secure-serving"),
    healthChecking: bool("health-checking"),
    certPath: str("cert-path"),
    totalQueuedRequestsMetric: str("total-queued-requests-metric"),
    totalRunningRequestsMetric: str("total-running-requests-metric"),
    kvCacheUsagePercentageMetric: str("kv-cache-usage-percentage-metric"),
    loraInfoMetric: str("lora-info-metric"),
    refreshMetricsIntervalMs: num("refresh-metrics-interval"),
    refreshPrometheusMetricsIntervalMs: num("refresh-prometheus-metrics-interval"),
    metricsStalenessThresholdMs: num("metrics-staleness-threshold"),
    configFile: str("config-file"),
    configText: str("config-text"),
    modelServerMetricsPort: num("model-server-metrics-port"),
    modelServerMetricsPath: str("model-server-metrics-path"),
    modelServerMetricsScheme: scheme,
    modelServerMetricsInsecureSkipVerify: bool("model-server-metrics-https-insecure-skip-verify"),
    zapEncoder: encoder,
    zapTimeEncoding: time as EppFlags["zapTimeEncoding"],
  };
}

// --zap-log-level wins over --v when given (cmd/epp/runner initLogging).
function verbosity(zapLevel: string, v: number): number {
  if (zapLevel === "") return v;
  switch (zapLevel) {
    case "debug":
      return 1;
    case "info":
      return 0;
    case "error":
    case "panic":
      return -1;
  }
  if (/^\d+$/.test(zapLevel) && Number(zapLevel) > 0) return Number(zapLevel);
  throw new Error(`invalid value "${zapLevel}" for flag -zap-log-level: must be debug, info, error, panic or an integer > 0`);
}
