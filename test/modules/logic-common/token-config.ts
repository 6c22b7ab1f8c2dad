// The token section of a plugin configuration, compiled as the filter compiles it, for the token logic modules.
import { JSON } from "json-as";
import { PluginConfig } from "../../../assembly/gateway/plugin-config";
import { TokenConfig, compileTokenConfig } from "../../../assembly/gateway/tokens/config";
import { setOut, str } from "./io";

/** The compiled configuration, or null with the error in the output buffer. */
export function tokenConfig(ptr: usize, len: i32): TokenConfig | null {
  const r = compileTokenConfig(JSON.parse<PluginConfig>(str(ptr, len)));
  setOut(r.error);
  return r.config;
}
