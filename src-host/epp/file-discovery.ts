// Discovery from a file, for running the EPP outside Kubernetes (after llm-d's file-discovery plugin).
// The file is YAML or JSON: either a list of endpoints, or an object with `endpoints` and optional `objectives`:
//
//   endpoints:
//   - name: vllm-0              # unique; defaults to the address
//     address: 127.0.0.1:8000   # ip:port; every endpoint must use the same port (the pool's targetPort)
//     labels: {app: vllm}       # optional
//     ready: true               # optional, default true
//   objectives:                 # optional InferenceObjectives of the pool
//   - name: food-review
//     priority: 1
//
// Every listed endpoint belongs to the pool. The file is re-read when it changes; a broken edit keeps the last
// good contents (and is reported through onError).
import { readFileSync, unwatchFile, watchFile } from "node:fs";
import { parse as parseYaml } from "yaml";
import type { Discovery, ObjectiveInfo, PodInfo, PoolSpec } from "./discovery.js";

export interface FileContents {
  pods: PodInfo[];
  objectives: ObjectiveInfo[];
  port: number;
}

export function parseEndpointsFile(text: string, poolName: string, namespace: string): FileContents {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new Error(`endpoints file is not YAML/JSON: ${(err as Error).message}`);
  }
  const obj = Array.isArray(doc) ? { endpoints: doc } : doc;
  if (typeof obj !== "object" || obj === null) throw new Error("endpoints file must be a list of endpoints or an object with `endpoints`");
  const { endpoints, objectives, ...rest } = obj as Record<string, unknown>;
  const unknown = Object.keys(rest);
  if (unknown.length) throw new Error(`endpoints file: unknown field "${unknown[0]}"`);
  if (!Array.isArray(endpoints) || endpoints.length === 0) throw new Error("endpoints file lists no endpoints");
  let port = 0;
  const names = new Set<string>();
  const pods = endpoints.map((e, i): PodInfo => {
    const at = `endpoints[${i}]`;
    if (typeof e !== "object" || e === null || Array.isArray(e)) throw new Error(`${at} must be an object`);
    const { name, address, labels, ready, ...extra } = e as Record<string, unknown>;
    if (Object.keys(extra).length) throw new Error(`${at}: unknown field "${Object.keys(extra)[0]}"`);
    if (typeof address !== "string") throw new Error(`${at}.address must be a string "ip:port"`);
    const m = /^(?:\[([0-9a-fA-F:.]+)\]|([0-9.]+)):(\d{1,5})$/.exec(address.trim());
    if (!m || Number(m[3]) < 1 || Number(m[3]) > 65535) throw new Error(`${at}.address ${JSON.stringify(address)} is not ip:port`);
    const p = Number(m[3]);
    if (port !== 0 && p !== port) throw new Error(`${at}.address uses port ${p}, but an InferencePool has one target port (${port})`);
    port = p;
    if (name !== undefined && typeof name !== "string") throw new Error(`${at}.name must be a string`);
    const podName = name || address.trim();
    if (names.has(podName)) throw new Error(`${at}: duplicate endpoint name ${JSON.stringify(podName)}`);
    names.add(podName);
    if (
      labels !== undefined &&
      (typeof labels !== "object" || labels === null || Array.isArray(labels) || Object.values(labels).some((v) => typeof v !== "string"))
    ) {
      throw new Error(`${at}.labels must map strings to strings`);
    }
    if (ready !== undefined && typeof ready !== "boolean") throw new Error(`${at}.ready must be true or false`);
    return { name: podName, namespace, ip: m[1] ?? m[2], labels: (labels as Record<string, string>) ?? {}, ready: ready ?? true };
  });
  const objs = objectives === undefined ? [] : objectives;
  if (!Array.isArray(objs)) throw new Error("endpoints file: objectives must be a list");
  const objectiveList = objs.map((o, i): ObjectiveInfo => {
    const { name, priority } = (o ?? {}) as Record<string, unknown>;
    if (typeof name !== "string" || name === "") throw new Error(`objectives[${i}].name must be a non-empty string`);
    if (priority !== undefined && !Number.isInteger(priority)) throw new Error(`objectives[${i}].priority must be an integer`);
    return { name, priority: (priority as number | undefined) ?? 0, poolName };
  });
  return { pods, objectives: objectiveList, port };
}

export class FileDiscovery implements Discovery {
  private contents: FileContents;
  private readonly listeners = new Set<() => void>();
  private watching = false;

  constructor(
    private readonly path: string,
    private readonly poolName: string,
    private readonly namespace: string,
    private readonly onError: (err: Error) => void = () => undefined,
  ) {
    this.contents = this.read();
  }

  /** Re-reads the file when it changes (polling, so edits by any tool are seen). */
  watch(intervalMs = 500): void {
    if (this.watching) return;
    this.watching = true;
    watchFile(this.path, { interval: intervalMs }, () => {
      try {
        this.contents = this.read();
      } catch (err) {
        this.onError(err as Error);
        return;
      }
      for (const l of this.listeners) l();
    });
  }

  close(): void {
    if (this.watching) unwatchFile(this.path);
    this.watching = false;
  }

  pool(): PoolSpec {
    return { name: this.poolName, namespace: this.namespace, selector: {}, targetPorts: [this.contents.port] };
  }

  pods(): PodInfo[] {
    return this.contents.pods;
  }

  objectives(): ObjectiveInfo[] {
    return this.contents.objectives;
  }

  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private read(): FileContents {
    let text: string;
    try {
      text = readFileSync(this.path, "utf8");
    } catch (err) {
      throw new Error(`cannot read endpoints file ${this.path}: ${(err as Error).message}`);
    }
    try {
      return parseEndpointsFile(text, this.poolName, this.namespace);
    } catch (err) {
      throw new Error(`${this.path}: ${(err as Error).message}`);
    }
  }
}
