// Kubernetes YAML → everything the embedded gateway (`aigw run`) needs. The one entry point:
//
//   const cfg = loadConfig(["envoy/examples/inference-pool"], { modulePath: "build/ai-gateway.wasm" });
//   cfg.gateway    DataPlaneConfig for the data plane (listener 127.0.0.1:1975 for the Gateway's listener,
//                  admin 127.0.0.1:1064, route table, clusters, the wasm filter with `plugin` as JSON)
//   cfg.plugin     PluginConfig, the filter's configuration (also inside gateway.wasm.configuration), with
//                  llmRequestCosts (build/costs.ts) and BackendTrafficPolicy token budgets (build/rate-limits.ts)
//   cfg.workloads  the pods to start locally (testupstream, vllm-sim, epp, ratelimit), one entry per replica,
//                  each with its loopback address, ports, args, env and mounted files; and what was skipped.
//                  Global rate limit rules without a declared envoyproxy/ratelimit Deployment add an
//                  embedded "ratelimit" pod (build/workloads.ts) behind the "ratelimit" cluster
//   cfg.discovery("default/mistral")   Discovery for an EPP serving that InferencePool
//   cfg.setPodReady(ns, name, ready)   mark a pod (un)ready: materialized pods start NOT ready, the runner
//                  marks each ready once its server listens; cluster endpoints in cfg.gateway follow in
//                  place and Discovery listeners of that namespace are told
//   cfg.objects    the applied objects (kubectl apply semantics), cfg.warnings what was ignored or odd
//
// Every problem (malformed YAML, a missing field, a dangling reference, a non-loopback address, an
// unsupported kind or schema) is found here, before anything starts: loadConfig throws one ConfigError
// listing all of them, each as "<file>: <Kind> <namespace>/<name>: <field>: <message>".
//
// Gateway API HTTPRoutes are served as plain routes before the AIGatewayRoute ones (build/build-httproutes.ts): a
// backendRef to a missing Service or InferencePool (or one across namespaces without a ReferenceGrant) is
// a warning and gets 500 for its share of the requests, as Gateway API says, while a malformed or
// unsupported one (filters, query parameter matches, other kinds) is a problem.
//
// Decisions: a Deployment whose image is unknown is not started (listed in workloads.skipped, and warned);
// an InferencePool whose endpointPickerRef Service does not exist is refused (an EPP Service without ready
// endpoints is accepted and its requests get 503, or a pool endpoint under FailOpen); materialized pods are
// named <deployment>-<replica> and live on 127.<block>.<n>.<replica+1> (block: the podBlock option, default
// 10), n numbering the materialized Deployments (then bare Pods) in namespace/name order.

import type { Discovery, PodInfo } from "../epp/discovery.js";
import type { DataPlaneConfig } from "../dataplane-api/bootstrap.js";
import { buildGateway, type BuildOptions } from "./build/build-gateway.js";
import type { CredentialSource } from "./build/build-security.js";
import type { CostOrigin } from "./build/costs.js";
import { ManifestDiscovery } from "./build/discovery.js";
import { applyManifests, expandPaths } from "./read/manifests.js";
import type { AppliedObject } from "./read/objects.js";
import type { PluginConfig } from "./plugin-config.js";
import { podInfo } from "./model/pods.js";
import { ConfigError, Problems } from "./read/problems.js";
import { warnUnknownFields } from "./read/unknown-fields.js";
import type { WorkloadPlan } from "./build/workloads.js";

export type LoadOptions = BuildOptions;

export interface LoadedConfig {
  gateway: DataPlaneConfig;
  plugin: PluginConfig;
  /** Where each of plugin.costs was declared (costProblem names it when the filter refuses one). */
  costOrigins: CostOrigin[];
  workloads: WorkloadPlan;
  /** Discovery for the InferencePool "namespace/name"; throws for a pool the manifests do not define. */
  discovery(pool: string): Discovery;
  /** Every known pod (materialized and declared), sorted by namespace/name, with current readiness. */
  pods(): PodInfo[];
  setPodReady(namespace: string, name: string, ready: boolean): void;
  objects: AppliedObject[];
  warnings: string[];
  /** The variables of gateway.wasm.hostEnvKeys and the Secrets their keys come from. */
  credentials: CredentialSource[];
  /** Their values (BackendSecurityPolicy keys): the process environment the VMs see, nowhere else. */
  hostEnvironment: Record<string, string>;
}

/** Loads files and directories (a directory: its *.yaml/*.yml in lexical order) and builds the gateway. */
export function loadConfig(paths: string[], opts: LoadOptions): LoadedConfig {
  const problems = new Problems();
  const objects = applyManifests(expandPaths(paths, problems), problems);
  if (objects.length === 0 && problems.errors.length === 0) problems.global(`no objects in ${paths.join(", ") || "(no paths)"}`);
  // Unreadable or malformed manifests stop here: building without the objects they hold would only add
  // misleading problems (a Gateway lost to a YAML error is not "missing").
  problems.throwIfAny();
  return build(objects, opts, problems);
}

function build(objects: AppliedObject[], opts: LoadOptions, problems: Problems): LoadedConfig {
  for (const obj of objects) warnUnknownFields(obj, problems);
  const built = buildGateway(objects, opts, problems);
  problems.throwIfAny();
  const { model, pods } = built;
  return {
    gateway: built.gateway,
    plugin: built.plugin,
    costOrigins: built.costOrigins,
    workloads: built.workloads,
    discovery(pool: string): Discovery {
      const p = model.pools.get(pool);
      if (!p) throw new ConfigError([`no InferencePool ${pool} (pools: ${[...model.pools.keys()].join(", ") || "none"})`]);
      return new ManifestDiscovery(model, p, pods);
    },
    pods: () => pods.all().map(podInfo),
    setPodReady: (namespace, name, ready) => pods.setReady(namespace, name, ready),
    objects,
    warnings: [...problems.warnings],
    credentials: built.credentials,
    hostEnvironment: built.hostEnvironment,
  };
}
