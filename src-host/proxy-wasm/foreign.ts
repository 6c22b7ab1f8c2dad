// Foreign functions Envoy registers (extensions/common/wasm/foreign.cc) that this host implements.
// Unknown names answer NotFound.
import { WasmResult } from "./abi.js";
import type { Context } from "./context.js";
import { parseSetFilterStateArguments } from "./proto.js";

export interface ForeignResult {
  result: WasmResult;
  results?: Uint8Array;
}

type Foreign = (ctx: Context, args: Uint8Array) => ForeignResult;

const FOREIGN_FUNCTIONS: Readonly<Record<string, Foreign>> = {
  /** No arguments: the route is evaluated again for the (possibly changed) request headers. */
  clear_route_cache(ctx) {
    ctx.clearRouteCache();
    return { result: WasmResult.Ok };
  },
  /** SetEnvoyFilterStateArguments{path, value, span}: stored under `path` in the stream's filter state. */
  set_envoy_filter_state(ctx, args) {
    const a = parseSetFilterStateArguments(args);
    if (!a) return { result: WasmResult.BadArgument };
    return { result: ctx.setFilterState(a.path, a.value) };
  },
};

export function callForeignFunction(ctx: Context, name: string, args: Uint8Array): ForeignResult | undefined {
  const f = Object.hasOwn(FOREIGN_FUNCTIONS, name) ? FOREIGN_FUNCTIONS[name] : undefined;
  return f ? f(ctx, args) : undefined;
}
