// Our Endpoint Picker: the GIE v1.0.x EPP's behaviour, flags and ports, for a pool described by a Discovery.
//   ext_proc gRPC on --grpc-port (TLS with a self-signed certificate unless --secure-serving=false),
//   gRPC health on --grpc-health-port (plaintext), Prometheus metrics on --metrics-port (GET /metrics).
import { readFile } from "node:fs/promises";
import http from "node:http";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { generate as generateCertificate } from "selfsigned";
import { Datastore, refreshPoolMetrics } from "./datastore.js";
import { Director } from "./director.js";
import type { Discovery } from "./discovery.js";
import { EppMetrics } from "./epp-metrics.js";
import { handleProcessStream, type ProcessingRequest } from "./ext-proc.js";
import { parseEppFlags, type EppFlags } from "./flags.js";
import { extProcHealthImpl, probeHealthImpl } from "./health.js";
import { Logger } from "./logger.js";
import { metricMapping } from "./model-server-metrics.js";
import { serviceDefinitions } from "./proto.js";
import { saturationConfigFromEnv } from "./saturation.js";
import { DEFAULT_CONFIG_TEXT, loadSchedulerConfig } from "./scheduling/config.js";
import type { PrefixPlugin } from "./scheduling/prefix.js";
import { Scheduler } from "./scheduling/scheduler.js";
import type { Random } from "./scheduling/types.js";
import { loadXxh64 } from "./scheduling/xxhash.js";

export interface StartEppOptions {
  /** The EPP's command-line flags, e.g. ["--pool-name", "vllm", "--grpc-port=0"]. */
  args: string[];
  /** Mounted files by absolute path (e.g. "/config/default-plugins.yaml"); other paths are read from disk. */
  files?: Record<string, string>;
  discovery: Discovery;
  /** Bind address for all three listeners; default 127.0.0.1. */
  host?: string;
  /** One formatted log line at a time (default: stderr). */
  log?: (line: string) => void;
  /** Environment for SD_* saturation thresholds (default: process.env). */
  env?: Record<string, string | undefined>;
  /** Randomness for pickers and the bodiless random pick (default: Math.random). */
  random?: Random;
}

export interface RunningEpp {
  /** host:port of the ext_proc gRPC server. */
  grpcAddress: string;
  /** host:port of the gRPC health server. */
  healthAddress: string;
  /** host:port of the Prometheus metrics HTTP server. */
  metricsAddress: string;
  /** Whether the ext_proc port speaks TLS. */
  secure: boolean;
  close(): Promise<void>;
}

export async function startEpp(opts: StartEppOptions): Promise<RunningEpp> {
  const flags = parseEppFlags(opts.args);
  const host = opts.host ?? "127.0.0.1";
  const random = opts.random ?? Math.random;
  const sink = opts.log ?? ((line: string) => process.stderr.write(line + "\n"));
  const logger = new Logger({ verbosity: flags.verbosity, encoder: flags.zapEncoder, timeEncoding: flags.zapTimeEncoding, sink });
  const setupLog = logger.withName("setup");
  const read = (path: string) => (opts.files && path in opts.files ? Promise.resolve(opts.files[path]) : readFile(path, "utf8"));

  let configText = flags.configText;
  if (configText === "" && flags.configFile !== "") {
    try {
      configText = await read(flags.configFile);
    } catch (err) {
      throw new Error(`failed to load config from a file '${flags.configFile}' - ${(err as Error).message}`);
    }
  }
  if (configText === "") configText = DEFAULT_CONFIG_TEXT;

  let mapping;
  try {
    mapping = metricMapping(flags.totalQueuedRequestsMetric, flags.totalRunningRequestsMetric, flags.kvCacheUsagePercentageMetric, flags.loraInfoMetric);
  } catch (err) {
    throw new Error(`failed to create metric mapping from flags: ${(err as Error).message}`);
  }

  const metrics = new EppMetrics();
  const xxh64 = await loadXxh64();
  let schedulerConfig;
  try {
    schedulerConfig = loadSchedulerConfig(configText, { random, xxh64, metrics });
  } catch (err) {
    throw new Error(`failed to load the configuration - ${(err as Error).message}`);
  }
  setupLog.info(0, "Loaded configuration", {
    profile: schedulerConfig.profile.name,
    filters: schedulerConfig.profile.filters.map((p) => p.name),
    scorers: schedulerConfig.profile.scorers.map((s) => `${s.plugin.name}:${s.weight}`),
    picker: schedulerConfig.profile.picker.name,
  });

  const credentials = await serverCredentials(flags, read);

  const store = new Datastore(
    opts.discovery,
    flags.poolName,
    flags.poolNamespace,
    {
      intervalMs: flags.refreshMetricsIntervalMs,
      port: flags.modelServerMetricsPort,
      path: flags.modelServerMetricsPath,
      scheme: flags.modelServerMetricsScheme,
      insecureSkipVerify: flags.modelServerMetricsInsecureSkipVerify,
      mapping,
    },
    logger.withName("datastore"),
  );
  for (const p of schedulerConfig.plugins.values()) {
    const indexer = (p as PrefixPlugin).indexer;
    if (indexer)
      store.onPodRemoved((key) => {
        indexer.removePod(key);
        metrics.prefixIndexerSize.set(indexer.size());
      });
  }
  const scheduler = new Scheduler(schedulerConfig, metrics);
  const director = new Director(store, scheduler, saturationConfigFromEnv(opts.env ?? process.env), random, flags.metricsStalenessThresholdMs);

  const defs = serviceDefinitions();
  const extProcServer = new grpc.Server();
  const extProcLog = logger.withName("ext-proc");
  extProcServer.addService(defs.extProc, {
    Process: (call: grpc.ServerDuplexStream<ProcessingRequest, Record<string, unknown>>) => handleProcessStream(call, { director, metrics, log: extProcLog }),
  });
  if (flags.healthChecking) extProcServer.addService(defs.health, extProcHealthImpl());
  const healthServer = new grpc.Server();
  healthServer.addService(
    defs.health,
    probeHealthImpl(() => store.synced()),
  );
  const metricsServer = http.createServer((req, res) => {
    if (req.method === "GET" && (req.url ?? "").split("?")[0] === "/metrics") {
      metrics.registry.metrics().then(
        (text) => {
          res.writeHead(200, { "content-type": metrics.registry.contentType });
          res.end(text);
        },
        (err: Error) => {
          res.writeHead(500, { "content-type": "text/plain" });
          res.end(`${err.message}\n`);
        },
      );
    } else {
      res.writeHead(404, { "content-type": "text/plain" });
      res.end("404 page not found\n");
    }
  });

  const poolTimer = setInterval(() => refreshPoolMetrics(store, metrics, flags.metricsStalenessThresholdMs), flags.refreshPrometheusMetricsIntervalMs);
  poolTimer.unref();
  store.start();

  const closeAll = async () => {
    clearInterval(poolTimer);
    store.close();
    await Promise.all([
      shutdown(extProcServer),
      shutdown(healthServer),
      new Promise<void>((resolve) => {
        metricsServer.close(() => resolve());
        metricsServer.closeAllConnections();
      }),
    ]);
  };

  try {
    const grpcPort = await bind(extProcServer, host, flags.grpcPort, credentials);
    const healthPort = await bind(healthServer, host, flags.grpcHealthPort, grpc.ServerCredentials.createInsecure());
    const metricsPort = await new Promise<number>((resolve, reject) => {
      metricsServer.once("error", reject);
      metricsServer.listen(flags.metricsPort, host, () => resolve((metricsServer.address() as { port: number }).port));
    });
    const result: RunningEpp = {
      grpcAddress: hostPort(host, grpcPort),
      healthAddress: hostPort(host, healthPort),
      metricsAddress: hostPort(host, metricsPort),
      secure: flags.secureServing,
      close: closeAll,
    };
    setupLog.info(0, "EPP serving", {
      pool: `${flags.poolNamespace}/${flags.poolName}`,
      grpc: result.grpcAddress,
      health: result.healthAddress,
      metrics: result.metricsAddress,
      secureServing: flags.secureServing,
    });
    return result;
  } catch (err) {
    await closeAll();
    throw err;
  }
}

async function serverCredentials(flags: EppFlags, read: (path: string) => Promise<string>): Promise<grpc.ServerCredentials> {
  if (!flags.secureServing) return grpc.ServerCredentials.createInsecure();
  let cert: string;
  let key: string;
  if (flags.certPath !== "") {
    try {
      [cert, key] = await Promise.all([read(join(flags.certPath, "tls.crt")), read(join(flags.certPath, "tls.key"))]);
    } catch (err) {
      throw new Error(`failed to load TLS certificate from --cert-path ${flags.certPath}: ${(err as Error).message}`);
    }
  } else {
    // Like upstream's CreateSelfSignedTLSCertificate (which uses RSA-4096; an EC key is as good and much faster).
    const notAfter = new Date();
    notAfter.setFullYear(notAfter.getFullYear() + 10);
    const pems = await generateCertificate([{ name: "organizationName", value: "Inference Ext" }], {
      keyType: "ec",
      curve: "P-256",
      algorithm: "sha256",
      notAfterDate: notAfter,
    });
    cert = pems.cert;
    key = pems.private;
  }
  return grpc.ServerCredentials.createSsl(null, [{ cert_chain: Buffer.from(cert), private_key: Buffer.from(key) }], false);
}

function bind(server: grpc.Server, host: string, port: number, creds: grpc.ServerCredentials): Promise<number> {
  return new Promise((resolve, reject) => {
    server.bindAsync(hostPort(host, port), creds, (err, bound) => (err ? reject(err) : resolve(bound)));
  });
}

// Open ext_proc streams are cancelled: close() means stop now.
function shutdown(server: grpc.Server): Promise<void> {
  server.forceShutdown();
  return Promise.resolve();
}

function hostPort(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}
