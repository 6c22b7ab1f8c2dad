// What the EPP knows about its pool: the InferencePool from discovery, its ready pods (selector + readiness), the
// InferenceObjectives bound to it, and each pod's metrics, refreshed by scraping every pod's /metrics on a timer.
import http from "node:http";
import https from "node:https";
import type { Discovery, PodInfo, PoolSpec } from "./discovery.js";
import type { EppMetrics } from "./epp-metrics.js";
import { V, type Logger } from "./logger.js";
import { extractMetrics, type MetricMapping } from "./model-server-metrics.js";
import { emptyMetrics, hasFreshMetrics, type Pod, type PodMetrics } from "./scheduling/types.js";

export interface ScrapeOptions {
  intervalMs: number;
  /** 0 → the pool's targetPorts[0]. */
  port: number;
  path: string;
  scheme: "http" | "https";
  insecureSkipVerify: boolean;
  mapping: MetricMapping;
}

const FETCH_TIMEOUT_MS = 5000;

interface PodEntry {
  info: PodInfo;
  port: number;
  metrics: PodMetrics;
  timer?: NodeJS.Timeout;
  request?: http.ClientRequest;
  stopped: boolean;
}

export class Datastore {
  private readonly entries = new Map<string, PodEntry>();
  private currentPool: PoolSpec | undefined;
  private readonly agent: http.Agent;
  private unsubscribe?: () => void;
  private readonly removalListeners: ((podKey: string) => void)[] = [];

  constructor(
    private readonly discovery: Discovery,
    private readonly poolName: string,
    private readonly poolNamespace: string,
    private readonly scrape: ScrapeOptions,
    private readonly log: Logger,
  ) {
    this.agent =
      scrape.scheme === "https"
        ? new https.Agent({ keepAlive: true, maxSockets: 1, rejectUnauthorized: !scrape.insecureSkipVerify })
        : new http.Agent({ keepAlive: true, maxSockets: 1 });
  }

  start(): void {
    this.unsubscribe = this.discovery.onChange(() => this.resync());
    this.resync();
  }

  close(): void {
    this.unsubscribe?.();
    for (const e of this.entries.values()) this.stopScraping(e);
    this.entries.clear();
    this.agent.destroy();
  }

  /** Called with "namespace/name" when a pod leaves the pool. */
  onPodRemoved(listener: (podKey: string) => void): void {
    this.removalListeners.push(listener);
  }

  /** The InferencePool, once discovery knows the one this EPP serves. */
  pool(): PoolSpec | undefined {
    return this.currentPool;
  }

  synced(): boolean {
    return this.currentPool !== undefined;
  }

  /** Ready pods of the pool with a snapshot of their metrics. */
  pods(): Pod[] {
    return [...this.entries.values()].map((e) => ({
      name: e.info.name,
      namespace: e.info.namespace,
      ip: e.info.ip,
      port: e.port,
      labels: e.info.labels,
      metrics: e.metrics,
    }));
  }

  /** Priority of the named InferenceObjective bound to this pool; undefined when there is none. */
  objectivePriority(name: string): number | undefined {
    if (!name) return undefined;
    return this.discovery.objectives().find((o) => o.name === name && o.poolName === this.poolName)?.priority;
  }

  private resync(): void {
    const pool = this.discovery.pool();
    this.currentPool = pool && pool.name === this.poolName && pool.namespace === this.poolNamespace ? pool : undefined;
    if (pool && !this.currentPool) {
      this.log.info(V.DEFAULT, "Discovery offers a different InferencePool; waiting for ours", {
        want: `${this.poolNamespace}/${this.poolName}`,
        got: `${pool.namespace}/${pool.name}`,
      });
    }
    const wanted = new Map<string, PodInfo>();
    if (this.currentPool) {
      const { selector, namespace } = this.currentPool;
      for (const p of this.discovery.pods()) {
        if (p.ready && p.namespace === namespace && Object.entries(selector).every(([k, v]) => p.labels[k] === v)) {
          wanted.set(`${p.namespace}/${p.name}`, p);
        }
      }
    }
    const port = this.currentPool?.targetPorts[0] ?? 0;
    for (const [key, e] of this.entries) {
      const next = wanted.get(key);
      if (!next || next.ip !== e.info.ip || port !== e.port) {
        this.stopScraping(e);
        this.entries.delete(key);
        if (!next) for (const l of this.removalListeners) l(key);
      } else {
        e.info = next;
      }
    }
    for (const [key, info] of wanted) {
      if (this.entries.has(key)) continue;
      const entry: PodEntry = { info, port, metrics: emptyMetrics(), stopped: false };
      this.entries.set(key, entry);
      this.log.info(V.VERBOSE, "Pod added to the datastore", { pod: key, ip: info.ip });
      this.scrapeLoop(entry);
    }
  }

  private stopScraping(e: PodEntry): void {
    e.stopped = true;
    clearTimeout(e.timer);
    e.request?.destroy();
  }

  // One scrape at a time per pod; the next starts an interval after the previous one finished.
  private scrapeLoop(e: PodEntry): void {
    if (e.stopped) return;
    const port = this.scrape.port || e.port;
    const host = e.info.ip.includes(":") ? `[${e.info.ip}]` : e.info.ip;
    const url = `${this.scrape.scheme}://${host}:${port}${this.scrape.path}`;
    const mod = this.scrape.scheme === "https" ? https : http;
    let finished = false;
    const done = (text: string | undefined, err?: string) => {
      if (finished) return; // a request can report both an error and a response error
      finished = true;
      e.request = undefined;
      if (e.stopped) return;
      if (text !== undefined) {
        try {
          const { metrics, errors } = extractMetrics(text, e.metrics, this.scrape.mapping, Date.now());
          e.metrics = metrics;
          if (errors.length) this.log.info(V.TRACE, "Partial metrics update", { pod: e.info.name, errors });
        } catch (parseErr) {
          this.log.info(V.TRACE, "Failed to parse metrics", { pod: e.info.name, error: (parseErr as Error).message });
        }
      } else {
        // A pod that cannot be scraped is stale at once, not only once the threshold has passed: a server
        // that died while its Pod still reads Ready refuses the scrape long before Kubernetes notices.
        e.metrics = { ...e.metrics, updateTime: 0 };
        this.log.info(V.TRACE, "Failed to refresh metrics", { pod: e.info.name, url, error: err });
      }
      e.timer = setTimeout(() => this.scrapeLoop(e), this.scrape.intervalMs);
    };
    const req = mod.get(url, { agent: this.agent, timeout: FETCH_TIMEOUT_MS }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        if (res.statusCode !== 200) done(undefined, `unexpected status code ${res.statusCode}`);
        else done(Buffer.concat(chunks).toString("utf8"));
      });
      res.on("error", (err) => done(undefined, err.message));
    });
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", (err) => done(undefined, err.message));
    e.request = req;
  }
}

/** Pool gauges, refreshed on --refresh-prometheus-metrics-interval from pods with fresh metrics. */
export function refreshPoolMetrics(store: Datastore, metrics: EppMetrics, stalenessMs: number, now = Date.now()): void {
  const pool = store.pool();
  if (!pool) return;
  const pods = store.pods();
  metrics.poolPerPodQueueSize.reset();
  for (const p of pods) metrics.poolPerPodQueueSize.labels(pool.name, p.name).set(p.metrics.waitingQueueSize);
  const fresh = pods.filter((p) => hasFreshMetrics(p.metrics, stalenessMs, now));
  if (fresh.length === 0) return;
  const kv = fresh.reduce((s, p) => s + p.metrics.kvCacheUsagePercent, 0);
  const queue = fresh.reduce((s, p) => s + p.metrics.waitingQueueSize, 0);
  metrics.poolAverageKvCache.labels(pool.name).set(kv / fresh.length);
  metrics.poolAverageQueueSize.labels(pool.name).set(Math.trunc(queue / fresh.length)); // Go integer division
  metrics.poolReadyPods.labels(pool.name).set(fresh.length);
}
