// The module Envoy loads: the proxy-wasm ABI exports, and the gateway registered under its root id.
export * from "./proxy-wasm/exports";
import { registerRootContext, RootContext } from "./proxy-wasm";
import { GatewayRoot, ROOT_ID } from "./gateway/filter";

registerRootContext(ROOT_ID, (contextId: u32): RootContext => new GatewayRoot(contextId));
