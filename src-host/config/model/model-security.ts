// Typed view of Envoy AI Gateway's BackendSecurityPolicy (aigateway.envoyproxy.io, v1.1.0
// api/v1beta1/backendsecurity_policy.go): the credential the gateway adds to requests for the AIServiceBackends
// and InferencePools it targets. Of its types, the two that self-hosted backends use: APIKey
// (`Authorization: Bearer <key>`) and AnthropicAPIKey (`x-api-key: <key>`), the key being the Secret's
// "apiKey" entry. The cloud credential types need token exchanges aigw run does not do: refused.

import { Fields } from "../read/fields.js";
import type { AppliedObject } from "../read/objects.js";
import { AIGW_GROUP, INFERENCE_GROUP } from "../read/objects.js";
import type { Problems } from "../read/problems.js";

export type CredentialType = "APIKey" | "AnthropicAPIKey";

/** The spec field of each supported type (the others: AWSCredentials, AzureAPIKey, AzureCredentials, GCPCredentials). */
const TYPE_FIELDS: Record<string, string> = {
  APIKey: "apiKey",
  AnthropicAPIKey: "anthropicAPIKey",
  AWSCredentials: "awsCredentials",
  AzureAPIKey: "azureAPIKey",
  AzureCredentials: "azureCredentials",
  GCPCredentials: "gcpCredentials",
};
/** CRD validation: targetRefs MaxItems. */
const MAX_TARGETS = 16;

export interface SecurityPolicyModel {
  obj: AppliedObject;
  f: Fields;
  namespace: string;
  name: string;
  /** LocalPolicyTargetReference: in the policy's namespace. */
  targets: Array<{ kind: "AIServiceBackend" | "InferencePool"; name: string; field: string }>;
  type?: CredentialType;
  secretRef?: { namespace: string; name: string; field: string };
}

export function readBackendSecurityPolicy(obj: AppliedObject, problems: Problems): SecurityPolicyModel {
  const f = new Fields(problems, obj);
  const spec = f.record(obj.object.spec, "spec", true) ?? {};
  const policy: SecurityPolicyModel = { obj, f, namespace: obj.namespace, name: obj.name, targets: [] };
  const refs = f.records(spec.targetRefs, "spec.targetRefs");
  if (refs.length > MAX_TARGETS) f.fail("spec.targetRefs", `at most ${MAX_TARGETS} targets, got ${refs.length}`);
  for (const [t, tf] of refs) {
    const group = f.string(t.group, `${tf}.group`) ?? ""; // "" is the core group
    const kind = f.string(t.kind, `${tf}.kind`, true);
    const name = f.string(t.name, `${tf}.name`, true);
    if (kind === undefined || name === undefined) continue;
    if ((group === AIGW_GROUP && kind === "AIServiceBackend") || (group === INFERENCE_GROUP && kind === "InferencePool")) {
      policy.targets.push({ kind, name, field: tf });
    } else {
      f.fail(tf, `must reference an AIServiceBackend (${AIGW_GROUP}) or an InferencePool (${INFERENCE_GROUP}), got ${group}/${kind}`);
    }
  }
  const type = f.string(spec.type, "spec.type", true);
  if (type === undefined) return policy;
  const own = TYPE_FIELDS[type];
  if (own === undefined) {
    f.fail("spec.type", `must be one of ${Object.keys(TYPE_FIELDS).join(", ")}, got ${JSON.stringify(type)}`);
    return policy;
  }
  for (const other of Object.values(TYPE_FIELDS)) {
    if (other !== own && spec[other] !== undefined) f.fail(`spec.${other}`, `must not be set when type is ${type}`);
  }
  if (spec.credentialOverride !== undefined) f.fail("spec.credentialOverride", "not supported by aigw run");
  if (type !== "APIKey" && type !== "AnthropicAPIKey") {
    f.fail("spec.type", `${type} is not supported by aigw run (only APIKey and AnthropicAPIKey)`);
    return policy;
  }
  policy.type = type;
  const mechanism = f.record(spec[own], `spec.${own}`, true) ?? {};
  const ref = f.record(mechanism.secretRef, `spec.${own}.secretRef`, true);
  if (!ref) return policy;
  const field = `spec.${own}.secretRef`;
  const group = f.string(ref.group, `${field}.group`) ?? "";
  const kind = f.string(ref.kind, `${field}.kind`) ?? "Secret";
  if (group !== "" || kind !== "Secret") f.fail(field, `must reference a core Secret, got ${group ? `${group}/` : ""}${kind}`);
  const name = f.string(ref.name, `${field}.name`, true);
  if (name !== undefined) policy.secretRef = { namespace: f.string(ref.namespace, `${field}.namespace`) ?? obj.namespace, name, field };
  return policy;
}
