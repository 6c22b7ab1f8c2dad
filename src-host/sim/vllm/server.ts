// The vLLM simulator's HTTP server: llm-d-inference-sim's routes over the simulated engine.
//   POST /v1/chat/completions, /v1/completions   GET /v1/models
//   POST /v1/load_lora_adapter, /v1/unload_lora_adapter
//   GET /metrics, /health, /ready
import http from "node:http";
import { closeServer, listen, readBody, type ListeningServer } from "../http-server.js";
import { Engine, type EngineStats } from "./engine.js";
import { parseSimArgs, type LoraModule, type SimConfig } from "./flags.js";
import { Latency } from "./latency.js";
import { renderMetrics } from "./metrics.js";
import { ApiError, parseCompletionRequest, ResponseShapes, usage, type EndpointKind } from "./openai.js";
import { Prng } from "./prng.js";
import { TextGenerator } from "./text-gen.js";
import { tokenize } from "./tokenizer.js";

export interface VllmSimOptions {
  host: string;
  /** Overrides `--port` (0 picks a free port). */
  port?: number;
  /** llm-d-inference-sim flags, e.g. `["--model", "m", "--max-num-seqs", "5"]`. */
  args: string[];
  /** The container's environment: POD_NAME and POD_NAMESPACE name the answering pod. */
  env?: Record<string, string>;
  /** `x-inference-pod` value; defaults to env POD_NAME. */
  podName?: string;
}

export interface VllmSim extends ListeningServer {
  readonly config: SimConfig;
  /** The engine's live state: what /metrics reports before fake metrics apply. */
  stats(): EngineStats;
  /** Names of the LoRA adapters currently loaded. */
  loras(): string[];
}

const MAX_BODY = 64 * 1024 * 1024;

export async function startVllmSim(opts: VllmSimOptions): Promise<VllmSim> {
  const config = parseSimArgs(opts.args);
  const sim = new Simulator(config, podHeaders(opts));
  const server = http.createServer((req, res) => {
    sim.handle(req, res).catch((err: unknown) => {
      const e = err instanceof ApiError ? err : new ApiError(500, err instanceof Error ? err.message : String(err), "InternalServerError");
      if (res.headersSent) res.destroy();
      else sim.sendJson(res, e.status, e.body());
    });
  });
  const address = await listen(server, opts.host, opts.port ?? config.port);
  return {
    address,
    config,
    stats: () => sim.engine.stats(),
    loras: () => [...sim.loras.keys()],
    close: async () => {
      sim.engine.stop();
      await closeServer(server);
    },
  };
}

function podHeaders(opts: VllmSimOptions): Record<string, string> {
  const headers: Record<string, string> = {};
  const pod = opts.podName ?? opts.env?.POD_NAME;
  if (pod) headers["x-inference-pod"] = pod;
  const namespace = opts.env?.POD_NAMESPACE;
  if (namespace) headers["x-inference-namespace"] = namespace;
  return headers;
}

class Simulator {
  readonly engine: Engine;
  readonly loras = new Map<string, LoraModule>();
  private readonly text: TextGenerator;
  private readonly startedAt = Math.floor(Date.now() / 1000);

  constructor(
    private readonly config: SimConfig,
    private readonly headers: Record<string, string>,
  ) {
    const prng = new Prng(config.seed);
    this.text = new TextGenerator(prng);
    this.engine = new Engine(config, new Latency(config, prng));
    for (const lora of config.loraModules) this.loras.set(lora.name, lora);
  }

  async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = req.url ?? "/";
    const path = url.split("?")[0];
    const route = `${req.method} ${path}`;
    switch (route) {
      case "POST /v1/chat/completions":
        return this.completion("chat", req, res);
      case "POST /v1/completions":
        return this.completion("completion", req, res);
      case "GET /v1/models":
        return this.sendJson(res, 200, JSON.stringify(this.models()));
      case "POST /v1/load_lora_adapter":
        return this.loadLora(await readBody(req, MAX_BODY), res);
      case "POST /v1/unload_lora_adapter":
        return this.unloadLora(await readBody(req, MAX_BODY), res);
      case "GET /metrics":
        return this.send(res, 200, "text/plain; version=0.0.4; charset=utf-8", renderMetrics(this.config, this.engine.stats()));
      case "GET /health":
      case "GET /ready":
        return this.send(res, 200, "application/json", "{}");
    }
    req.resume();
    const known = [
      "/v1/chat/completions",
      "/v1/completions",
      "/v1/models",
      "/v1/load_lora_adapter",
      "/v1/unload_lora_adapter",
      "/metrics",
      "/health",
      "/ready",
    ];
    if (known.includes(path)) this.send(res, 405, "text/plain; charset=utf-8", "Method Not Allowed");
    else this.send(res, 404, "text/plain; charset=utf-8", "Not Found");
  }

  private async completion(kind: EndpointKind, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const r = parseCompletionRequest(kind, await readBody(req, MAX_BODY));
    let lora: string | undefined;
    if (!this.config.servedModelNames.includes(r.model)) {
      if (!this.loras.has(r.model)) throw new ApiError(404, `The model \`${r.model}\` does not exist.`);
      lora = r.model;
    }
    const promptTokens = r.promptTokenIds ? r.promptTokenIds.map(String) : tokenize(r.promptText);
    const promptLen = promptTokens.length;
    const maxLen = this.config.maxModelLen;
    if (promptLen + (r.maxTokens ?? 1) > maxLen) {
      throw new ApiError(
        400,
        `This model's maximum context length is ${maxLen} tokens. However, you requested ${promptLen + (r.maxTokens ?? 0)} tokens ` +
          `(${promptLen} in the messages, ${r.maxTokens ?? 0} in the completion). Please reduce the length of the messages or completion.`,
      );
    }
    const room = maxLen - promptLen;
    const gen = this.config.mode === "echo" ? this.text.echo(r.echoText, r.maxTokens ?? room) : this.text.random(r.maxTokens, room);
    const tokens = gen.tokens;
    const shapes = new ResponseShapes(kind, r.model);
    const abort = new AbortController();
    res.on("close", () => {
      if (!res.writableFinished) abort.abort();
    });

    const event = (o: object) => res.write(`data: ${JSON.stringify(o)}\n\n`);
    if (r.stream) {
      res.writeHead(200, { ...this.headers, "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache" });
      res.flushHeaders();
    }
    const onToken = (i: number) => {
      if (!r.stream) return;
      if (i === 0 && kind === "chat") event(shapes.roleChunk());
      event(shapes.chunk(tokens[i], i === tokens.length - 1 ? gen.finishReason : null));
    };
    const cacheSalt = lora ?? this.config.model;
    const result = await this.engine.submit({ lora, cacheSalt, promptTokens, outputTokens: tokens, finishReason: gen.finishReason }, onToken, abort.signal);
    if (!result.completed) {
      res.destroy();
      return;
    }
    const u = usage(promptLen, tokens.length);
    if (!r.stream) {
      this.sendJson(res, 200, JSON.stringify(shapes.complete(tokens.join(""), gen.finishReason, u)));
      return;
    }
    if (tokens.length === 0) {
      if (kind === "chat") event(shapes.roleChunk());
      event(shapes.chunk("", gen.finishReason));
    }
    if (r.includeUsage) event(shapes.usageChunk(u));
    res.end("data: [DONE]\n\n");
  }

  private models(): object {
    const created = this.startedAt;
    const base = this.config.servedModelNames.map((id) => ({ id, object: "model", created, owned_by: "vllm", root: this.config.model, parent: null }));
    const adapters = [...this.loras.values()].map((l) => ({
      id: l.name,
      object: "model",
      created,
      owned_by: "vllm",
      root: l.path ?? l.name,
      parent: l.baseModelName ?? this.config.model,
    }));
    return { object: "list", data: [...base, ...adapters] };
  }

  private loadLora(body: Buffer, res: http.ServerResponse): void {
    const { name, doc } = loraRequest(body);
    if (this.config.servedModelNames.includes(name)) throw new ApiError(400, `The lora adapter '${name}' has the name of a served model.`);
    if (this.loras.has(name)) throw new ApiError(400, `The lora adapter '${name}' has already been loaded.`);
    const path = doc.lora_path;
    if (path !== undefined && typeof path !== "string") throw new ApiError(400, "lora_path must be a string");
    this.loras.set(name, { name, path });
    this.send(res, 200, "text/plain; charset=utf-8", `Success: LoRA adapter '${name}' added successfully.`);
  }

  private unloadLora(body: Buffer, res: http.ServerResponse): void {
    const { name } = loraRequest(body);
    if (!this.loras.delete(name)) throw new ApiError(404, `The lora adapter '${name}' cannot be found.`);
    this.send(res, 200, "text/plain; charset=utf-8", `Success: LoRA adapter '${name}' removed successfully.`);
  }

  sendJson(res: http.ServerResponse, status: number, body: string): void {
    this.send(res, status, "application/json", body);
  }

  private send(res: http.ServerResponse, status: number, contentType: string, body: string): void {
    res.writeHead(status, { ...this.headers, "content-type": contentType, "content-length": Buffer.byteLength(body) });
    res.end(body);
  }
}

function loraRequest(body: Buffer): { name: string; doc: Record<string, unknown> } {
  let doc: unknown;
  try {
    doc = JSON.parse(body.toString("utf8"));
  } catch (err) {
    throw new ApiError(400, `failed to parse the request body: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) throw new ApiError(400, "the request body must be a JSON object");
  const d = doc as Record<string, unknown>;
  if (typeof d.lora_name !== "string" || d.lora_name === "") throw new ApiError(400, "lora_name must be a non-empty string");
  return { name: d.lora_name, doc: d };
}
