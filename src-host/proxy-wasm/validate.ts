// Load-time checks in the order proxy-wasm-cpp-host performs them (WasmBase::load, link, getFunctions),
// with Envoy's wording, so a module refused here is one Envoy refuses too.
import { ABI_010_ONLY_IMPORTS, CALLBACK_SIGNATURES, hostImportSignature } from "./signatures.js";
import { type ModuleInfo, WasmParseError, parseModule, sigString } from "./wasm-binary.js";

export class WasmLoadError extends Error {
  override name = "WasmLoadError";
}

const ABI_MARKERS = ["proxy_abi_version_0_1_0", "proxy_abi_version_0_2_0", "proxy_abi_version_0_2_1"] as const;

export interface ValidatedModule {
  info: ModuleInfo;
  abiVersion: "0.2.1";
  /** The export the host allocates through: malloc, else proxy_on_memory_allocate. */
  allocator: "malloc" | "proxy_on_memory_allocate";
  /** How the VM is started: a WASI reactor (_initialize, then main if exported), a command (_start), or neither. */
  start: "reactor" | "command" | "none";
  hasMain: boolean;
}

/** Throws WasmLoadError for every reason Envoy would refuse the module; returns what the loader needs. */
export function validateModule(bytes: Uint8Array, instrumentation?: string): ValidatedModule {
  let info: ModuleInfo;
  try {
    info = parseModule(bytes);
  } catch (err) {
    if (err instanceof WasmParseError) throw new WasmLoadError(`Failed to parse corrupted Wasm module: ${err.message}`);
    throw err;
  }

  // ABI detection: the first marker export found wins.
  const marker = info.exports.find((e) => e.kind === "func" && (ABI_MARKERS as readonly string[]).includes(e.name));
  if (!marker) throw new WasmLoadError("Missing or unknown Proxy-Wasm ABI version");
  if (marker.name !== "proxy_abi_version_0_2_1") {
    const v = marker.name.slice("proxy_abi_version_".length).replace(/_/g, ".");
    throw new WasmLoadError(`Proxy-Wasm ABI version ${v} is not supported by this host (only 0.2.1 is)`);
  }

  // Linking: every import must be a function Envoy registers, with the same signature.
  for (const imp of info.imports) {
    const where = `${imp.module}.${imp.name}`;
    if (imp.module === instrumentation) continue; // a test build's hooks (env.ts Instrumentation), linked by name
    if (imp.kind !== "func") {
      throw new WasmLoadError(`Failed to load Wasm module due to a missing import: ${where} (a ${imp.kind} import; only functions are linked)`);
    }
    const want = hostImportSignature(imp.module, imp.name);
    if (!want) {
      const hint = imp.module === "env" && ABI_010_ONLY_IMPORTS.includes(imp.name) ? " (registered only for ABI 0.1.0 modules)" : "";
      throw new WasmLoadError(`Failed to load Wasm module due to a missing import: ${where}${hint}`);
    }
    const got = sigString(imp.sig);
    if (got !== want) {
      throw new WasmLoadError(`Failed to load Wasm module due to an import type mismatch for ${where}, want: ${got}, but host exports: ${want}`);
    }
  }

  const exported = new Map(info.exports.map((e) => [e.name, e]));
  if (exported.get("memory")?.kind !== "memory") throw new WasmLoadError("Wasm module is missing memory export");

  const checkSignature = (name: string) => {
    const e = exported.get(name);
    if (!e) return false;
    if (e.kind !== "func" || sigString(e.sig) !== CALLBACK_SIGNATURES[name]) {
      throw new WasmLoadError(`Bad function signature for: ${name}`);
    }
    return true;
  };

  // getFunctions: start-up exports, the allocator, then every callback.
  const reactor = checkSignature("_initialize");
  const hasMain = reactor && checkSignature("main");
  const command = !reactor && checkSignature("_start");
  const allocator = checkSignature("malloc") ? "malloc" : checkSignature("proxy_on_memory_allocate") ? "proxy_on_memory_allocate" : undefined;
  if (!allocator) throw new WasmLoadError("Wasm module is missing malloc function.");
  for (const name of Object.keys(CALLBACK_SIGNATURES)) {
    if (name === "_initialize" || name === "_start" || name === "main") continue;
    checkSignature(name);
  }
  return { info, abiVersion: "0.2.1", allocator, start: reactor ? "reactor" : command ? "command" : "none", hasMain };
}
