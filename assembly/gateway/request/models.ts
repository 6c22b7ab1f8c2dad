// GET /v1/models (as Envoy AI Gateway v1.1.0's internal/extproc/models_processor.go answers it): the
// configured models in OpenAI's list shape, scoped by the request's host when any AIGatewayRoute declares
// hostnames: a host named exactly by a route, else the longest "*." pattern covering it with one label,
// sees that host's models and those of routes without hostnames; any other host sees only the latter;
// a request without a host sees all. The answers are built once per configuration.

import { jsonQuote } from "../errors";
import { ModelInfo } from "../plugin-config";
import { requestHost, wildcardCovers } from "./host";

/** Envoy AI Gateway's default `owned_by` (AIGatewayRoute rule `modelsOwnedBy`). */
export const DEFAULT_MODEL_OWNER = "Envoy AI Gateway";

export class ModelsListing {
  /** Every model: the answer when no route declares hostnames, or the request has no host. */
  all: string;
  private unscoped: string = "";
  private byHost: Map<string, string> = new Map<string, string>();
  /** "*." patterns, longest first. */
  private wildcards: Array<string> = [];

  constructor(models: Array<ModelInfo> = []) {
    this.all = buildModelsBody(models);
    this.scope(models);
  }

  private scope(models: Array<ModelInfo>): void {
    const hosts = new Array<string>();
    const unscoped = new Array<ModelInfo>();
    for (let i = 0; i < models.length; i++) {
      const m = models[i];
      if (m.hostnames.length == 0) unscoped.push(m);
      for (let j = 0; j < m.hostnames.length; j++) if (!hosts.includes(m.hostnames[j])) hosts.push(m.hostnames[j]);
    }
    if (hosts.length == 0) return;
    this.unscoped = buildModelsBody(unscoped);
    for (let i = 0; i < hosts.length; i++) {
      const host = hosts[i];
      const listed = new Array<ModelInfo>();
      for (let j = 0; j < models.length; j++) if (models[j].hostnames.includes(host)) listed.push(models[j]);
      this.byHost.set(host, buildModelsBody(listed.concat(unscoped)));
      if (host.startsWith("*.")) this.wildcards.push(host);
    }
    this.wildcards.sort((a: string, b: string): i32 => b.length - a.length);
  }

  /** The answer for a request with this :authority (null: none). */
  bodyFor(authority: string | null): string {
    const host = requestHost(authority);
    if (this.byHost.size == 0 || host.length == 0) return this.all;
    if (this.byHost.has(host)) return this.byHost.get(host);
    for (let i = 0; i < this.wildcards.length; i++) {
      if (wildcardCovers(this.wildcards[i], host, true)) return this.byHost.get(this.wildcards[i]);
    }
    return this.unscoped;
  }
}

/** `{"data":[{"id":…,"created":…,"object":"model","owned_by":…},…],"object":"list"}` */
export function buildModelsBody(models: Array<ModelInfo>): string {
  const parts = new Array<string>();
  for (let i = 0; i < models.length; i++) {
    const m = models[i];
    const owner = m.ownedBy.length > 0 ? m.ownedBy : DEFAULT_MODEL_OWNER;
    parts.push('{"id":' + jsonQuote(m.id) + ',"created":' + m.created.toString() + ',"object":"model","owned_by":' +
      jsonQuote(owner) + "}");
  }
  return '{"data":[' + parts.join(",") + '],"object":"list"}';
}
