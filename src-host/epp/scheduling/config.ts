// EndpointPickerConfig (inference.networking.x-k8s.io/v1alpha1), read once at startup as GIE v1.0.x does
// (pkg/epp/config/loader): strict decoding, plugin instantiation, then the loader's defaults:
//  - a plugin without a name is named after its type;
//  - no schedulingProfiles → one profile "default" with every filter, scorer and picker plugin, in order;
//  - one profile → the single-profile-handler (the only handler v1.0.x registers, so several profiles fail);
//  - a scorer without a weight gets 1; a profile without a picker gets a max-score-picker (one endpoint).
import { parse as parseYaml } from "yaml";
import { createPlugin, type PluginDeps } from "./plugins.js";
import type { Plugin } from "./types.js";

export const CONFIG_API_VERSION = "inference.networking.x-k8s.io/v1alpha1";
export const CONFIG_KIND = "EndpointPickerConfig";

/** The configuration the GIE Helm chart ships (weights 1:1:1, max-score-picker), used when none is given. */
export const DEFAULT_CONFIG_TEXT = `apiVersion: ${CONFIG_API_VERSION}
kind: ${CONFIG_KIND}
plugins:
- type: queue-scorer
- type: kv-cache-utilization-scorer
- type: prefix-cache-scorer
schedulingProfiles:
- name: default
  plugins:
  - pluginRef: queue-scorer
  - pluginRef: kv-cache-utilization-scorer
  - pluginRef: prefix-cache-scorer
`;

export interface WeightedScorer {
  plugin: Plugin;
  weight: number;
}

export interface SchedulingProfile {
  name: string;
  filters: Plugin[];
  scorers: WeightedScorer[];
  picker: Plugin;
}

export interface SchedulerConfig {
  /** Every instantiated plugin by name (including defaults the loader added). */
  plugins: Map<string, Plugin>;
  profile: SchedulingProfile;
  /** Plugins with a PreRequest step, in declaration order. */
  preRequest: Plugin[];
}

export function loadSchedulerConfig(text: string, deps: PluginDeps): SchedulerConfig {
  const raw = decode(text);
  const plugins = new Map<string, Plugin>();
  for (const spec of raw.plugins) {
    if (!spec.type) throw new Error(`plugin '${spec.name ?? ""}' is missing a type`);
    const name = spec.name || spec.type;
    if (plugins.has(name)) throw new Error(`duplicate plugin name '${name}'`);
    plugins.set(name, createPlugin(spec.type, name, spec.parameters, deps));
  }

  let profiles = raw.schedulingProfiles;
  if (profiles.length === 0) {
    const refs = [...plugins.values()].filter((p) => p.filter || p.score || p.pick).map((p) => ({ pluginRef: p.name }));
    profiles = [{ name: "default", plugins: refs }];
  }
  const names = new Set<string>();
  for (const prof of profiles) {
    if (!prof.name) throw new Error("SchedulingProfile must have a name");
    if (names.has(prof.name)) throw new Error(`the name '${prof.name}' has been specified for more than one SchedulingProfile`);
    names.add(prof.name);
    for (const ref of prof.plugins) {
      if (!ref.pluginRef) throw new Error(`SchedulingProfile '${prof.name}' plugins must have a plugin reference`);
      if (!plugins.has(ref.pluginRef)) throw new Error(`${ref.pluginRef} is a reference to an undefined Plugin`);
    }
  }
  if (profiles.length > 1) {
    throw new Error("SingleProfileHandler cannot support multiple scheduling profiles (no other profile handler is registered)");
  }
  const handlers = [...plugins.values()].filter((p) => p.profileHandler);
  if (handlers.length > 1) throw new Error(`multiple profile handlers found ('${handlers[0].name}', '${handlers[1].name}'); only one is allowed`);
  if (handlers.length === 0) plugins.set("single-profile-handler", createPlugin("single-profile-handler", "single-profile-handler", undefined, deps));

  const prof = profiles[0];
  const filters: Plugin[] = [];
  const scorers: WeightedScorer[] = [];
  let picker: Plugin | undefined;
  for (const ref of prof.plugins) {
    const plugin = plugins.get(ref.pluginRef ?? "")!;
    let used = false;
    if (plugin.filter) {
      filters.push(plugin);
      used = true;
    }
    if (plugin.score) {
      scorers.push({ plugin, weight: ref.weight ?? 1 });
      used = true;
    }
    if (plugin.pick) {
      if (picker) throw new Error(`failed to add plugin '${plugin.name}' to profile '${prof.name}': profile already has picker '${picker.name}'`);
      picker = plugin;
      used = true;
    }
    if (!used) throw new Error(`failed to add plugin '${plugin.name}' to profile '${prof.name}': type ${plugin.type} is not a filter, scorer or picker`);
  }
  if (!picker) {
    picker = plugins.get("max-score-picker") ?? createPlugin("max-score-picker", "max-score-picker", undefined, deps);
    if (!picker.pick) throw new Error(`plugin 'max-score-picker' (type ${picker.type}) is not a picker`);
    plugins.set(picker.name, picker);
  }
  return {
    plugins,
    profile: { name: prof.name ?? "default", filters, scorers, picker },
    preRequest: [...plugins.values()].filter((p) => p.preRequest),
  };
}

interface RawConfig {
  plugins: { name?: string; type?: string; parameters?: unknown }[];
  schedulingProfiles: { name?: string; plugins: { pluginRef?: string; weight?: number }[] }[];
}

function decode(text: string): RawConfig {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new Error(`failed to decode configuration JSON/YAML: ${(err as Error).message}`);
  }
  const fail = (msg: string) => new Error(`failed to decode configuration JSON/YAML: ${msg}`);
  const obj = object(doc, "configuration", fail);
  strict(obj, ["apiVersion", "kind", "plugins", "schedulingProfiles"], "", fail);
  if (obj.apiVersion !== CONFIG_API_VERSION || obj.kind !== CONFIG_KIND) {
    throw fail(
      `expected apiVersion ${CONFIG_API_VERSION} and kind ${CONFIG_KIND}, got apiVersion ${JSON.stringify(obj.apiVersion ?? "")} kind ${JSON.stringify(obj.kind ?? "")}`,
    );
  }
  const plugins = list(obj.plugins, "plugins", fail).map((p, i) => {
    const spec = object(p, `plugins[${i}]`, fail);
    strict(spec, ["name", "type", "parameters"], `plugins[${i}].`, fail);
    return { name: optString(spec.name, `plugins[${i}].name`, fail), type: optString(spec.type, `plugins[${i}].type`, fail), parameters: spec.parameters };
  });
  const schedulingProfiles = list(obj.schedulingProfiles, "schedulingProfiles", fail).map((p, i) => {
    const prof = object(p, `schedulingProfiles[${i}]`, fail);
    strict(prof, ["name", "plugins"], `schedulingProfiles[${i}].`, fail);
    return {
      name: optString(prof.name, `schedulingProfiles[${i}].name`, fail),
      plugins: list(prof.plugins, `schedulingProfiles[${i}].plugins`, fail).map((r, j) => {
        const at = `schedulingProfiles[${i}].plugins[${j}]`;
        const ref = object(r, at, fail);
        strict(ref, ["pluginRef", "weight"], `${at}.`, fail);
        if (ref.weight !== undefined && ref.weight !== null && (typeof ref.weight !== "number" || !Number.isInteger(ref.weight))) {
          throw fail(`${at}.weight must be an integer, got ${JSON.stringify(ref.weight)}`);
        }
        return { pluginRef: optString(ref.pluginRef, `${at}.pluginRef`, fail), weight: (ref.weight ?? undefined) as number | undefined };
      }),
    };
  });
  return { plugins, schedulingProfiles };
}

type Fail = (msg: string) => Error;

function object(v: unknown, at: string, fail: Fail): Record<string, unknown> {
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw fail(`${at} must be an object`);
  return v as Record<string, unknown>;
}

function list(v: unknown, at: string, fail: Fail): unknown[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw fail(`${at} must be a list`);
  return v;
}

function optString(v: unknown, at: string, fail: Fail): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "string") throw fail(`${at} must be a string`);
  return v;
}

function strict(obj: Record<string, unknown>, allowed: string[], prefix: string, fail: Fail): void {
  for (const k of Object.keys(obj)) if (!allowed.includes(k)) throw fail(`strict decoding error: unknown field "${prefix}${k}"`);
}
