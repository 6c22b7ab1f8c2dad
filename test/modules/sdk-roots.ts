// SDK test module: root context selection by plugin_root_id. Two roots, "alpha" and "beta", and no
// fallback registration, so any other root_id must refuse to start. Each root keeps its plugin
// configuration and counts ticks; its streams add `x-root`, `x-config` and `x-ticks` to the request.
export * from "../../assembly/proxy-wasm/exports";
import {
  RootContext, HttpContext, registerRootContext, FilterHeadersStatus, requestHeaders, logInfo,
} from "../../assembly/proxy-wasm";

class NamedRoot extends RootContext {
  config: string = "";
  ticks: u32 = 0;

  constructor(contextId: u32, private readonly label: string) {
    super(contextId);
  }

  onConfigure(size: u32): bool {
    this.config = this.getPluginConfigurationString();
    logInfo("root " + this.label + " (root_id " + this.rootId + ") configured: " + this.config);
    this.setTickPeriod(20);
    return true;
  }

  onTick(): void {
    this.ticks++;
  }

  createHttpContext(contextId: u32): HttpContext {
    return new LabelStream(contextId, this);
  }

  get name(): string {
    return this.label;
  }
}

class LabelStream extends HttpContext {
  onRequestHeaders(numHeaders: u32, endOfStream: bool): FilterHeadersStatus {
    const r = changetype<NamedRoot>(this.root);
    requestHeaders.replace("x-root", r.name);
    requestHeaders.replace("x-config", r.config);
    requestHeaders.replace("x-ticks", r.ticks.toString());
    return FilterHeadersStatus.Continue;
  }
}

registerRootContext("alpha", (id: u32): RootContext => new NamedRoot(id, "alpha"));
registerRootContext("beta", (id: u32): RootContext => new NamedRoot(id, "beta"));
