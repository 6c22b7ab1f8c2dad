// BackendSecurityPolicies → the credential of each backend they target. The key never enters any
// configuration: the plugin configuration names an environment variable of the wasm VM (Envoy's
// vm_config.environment_variables.host_env_keys: a variable of the Envoy process), and the filter reads
// it through WASI environ_get. `aigw run` is that process: the variables' values come from the Secrets.

import type { CredentialType, SecurityPolicyModel } from "../model/model-security.js";
import type { Model } from "../model/model.js";
import { referenceAllowed } from "../model/model.js";
import { AIGW_GROUP } from "../read/objects.js";

export interface BackendCredential {
  type: CredentialType;
  /** The environment variable holding the key. */
  env: string;
}

export interface CredentialSource {
  env: string;
  /** The Secret (namespace/name) and its entry that hold the key. */
  secretNamespace: string;
  secretName: string;
  secretKey: string;
}

export interface BuiltCredentials {
  /** By "<kind>/<namespace>/<name>" of the AIServiceBackend or InferencePool. */
  byTarget: Map<string, BackendCredential>;
  /** The variables and where their keys come from, in policy order. */
  sources: CredentialSource[];
  /** The variables' values (the keys), for `aigw run`'s VMs only. */
  values: Record<string, string>;
}

/** Envoy AI Gateway reads the key from this entry of the Secret (api/v1beta1: "The key of the secret should be apiKey"). */
export const SECRET_KEY = "apiKey";

export function credentialTarget(kind: string, namespace: string, name: string): string {
  return `${kind}/${namespace}/${name}`;
}

export function buildCredentials(m: Model): BuiltCredentials {
  const out: BuiltCredentials = { byTarget: new Map(), sources: [], values: {} };
  const owner = new Map<string, SecurityPolicyModel>();
  for (const p of m.securityPolicies) {
    if (!p.type || !p.secretRef) continue; // its own problems are reported
    const key = secretKey(m, p);
    if (key === undefined) continue;
    const env = variableName(p, out.values);
    let used = false;
    for (const t of p.targets) {
      const target = credentialTarget(t.kind, p.namespace, t.name);
      const exists = t.kind === "InferencePool" ? m.pools.has(`${p.namespace}/${t.name}`) : m.aiBackends.has(`${p.namespace}/${t.name}`);
      if (!exists) {
        p.f.warn(t.field, `${t.kind} ${p.namespace}/${t.name} not found: the policy applies to nothing there`);
        continue;
      }
      const first = owner.get(target);
      if (first) {
        p.f.fail(
          t.field,
          `${t.kind} ${p.namespace}/${t.name} is already targeted by BackendSecurityPolicy ${first.namespace}/${first.name} (one policy per backend)`,
        );
        continue;
      }
      owner.set(target, p);
      out.byTarget.set(target, { type: p.type, env });
      used = true;
    }
    if (!used) continue;
    out.values[env] = key;
    out.sources.push({ env, secretNamespace: p.secretRef.namespace, secretName: p.secretRef.name, secretKey: SECRET_KEY });
  }
  return out;
}

/** The trimmed key, or undefined with the problem reported (which never includes the key). */
function secretKey(m: Model, p: SecurityPolicyModel): string | undefined {
  const ref = p.secretRef!;
  const id = `${ref.namespace}/${ref.name}`;
  if (
    !referenceAllowed(
      m,
      { group: AIGW_GROUP, kind: "BackendSecurityPolicy", namespace: p.namespace },
      { group: "", kind: "Secret", namespace: ref.namespace, name: ref.name },
    )
  ) {
    p.f.fail(ref.field, `Secret ${id} is in another namespace and no ReferenceGrant there allows it`);
    return undefined;
  }
  const secret = m.secrets.get(id);
  if (!secret) {
    p.f.fail(ref.field, `Secret ${id} not found`);
    return undefined;
  }
  const value = secret.data[SECRET_KEY];
  if (value === undefined) {
    p.f.fail(ref.field, `Secret ${id} has no "${SECRET_KEY}" entry`);
    return undefined;
  }
  const key = value.trim();
  // A header value carries visible ASCII and spaces only (RFC 9110 field-value, obs-text aside).
  if (key === "" || !/^[\x20-\x7e]+$/.test(key)) {
    p.f.fail(ref.field, `the "${SECRET_KEY}" of Secret ${id} must be a non-empty key of printable ASCII characters`);
    return undefined;
  }
  return key;
}

/** AIGW_CREDENTIAL_<NAMESPACE>_<POLICY>, upper case, other characters as "_"; a number added on a clash. */
function variableName(p: SecurityPolicyModel, taken: Record<string, string>): string {
  const base = `AIGW_CREDENTIAL_${p.namespace}_${p.name}`.toUpperCase().replace(/[^A-Z0-9_]/g, "_");
  let name = base;
  for (let i = 2; name in taken; i++) name = `${base}_${i}`;
  return name;
}
