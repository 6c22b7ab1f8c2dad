// Fields the custom resources aigw reads do not have: warned with the closest known name, as kubectl's
// server-side field validation warns ("unknown field"), so that a misspelled `llmRequestCost:` is not
// silently ignored. Field names are the CRDs' (envoyproxy/ai-gateway v1.1.0 api/v1alpha1 and v1beta1, plus
// the v1alpha1 fields aigw still reads; gateway-api-inference-extension v1.0 InferencePool v1). Other kinds
// are not checked: their schemas are larger than what aigw reads.
import { isRecord } from "./manifests.js";
import { AIGW_GROUP, INFERENCE_GROUP, type AppliedObject } from "./objects.js";
import type { Problems } from "./problems.js";

/** A mapping's known keys: true for a value not checked further, else the schema of the value (or of each element of a list). */
interface Schema {
  [key: string]: Schema | true;
}

const COST: Schema = { metadataKey: true, type: true, cel: true };
const MUTATION: Schema = { set: true, remove: true };
const TOP = { apiVersion: true, kind: true, metadata: true, status: true } as const;

const SCHEMAS: Record<string, Schema> = {
  [`${AIGW_GROUP}/AIGatewayRoute`]: {
    ...TOP,
    spec: {
      parentRefs: true,
      hostnames: true,
      targetRefs: true,
      schema: true,
      filterConfig: true,
      llmRequestCosts: COST,
      rules: {
        name: true,
        matches: { headers: true },
        backendRefs: {
          name: true,
          namespace: true,
          group: true,
          kind: true,
          modelNameOverride: true,
          headerMutation: MUTATION,
          bodyMutation: MUTATION,
          weight: true,
          priority: true,
        },
        timeouts: true,
        streamIdleTimeout: true,
        modelsOwnedBy: true,
        modelsCreatedAt: true,
      },
    },
  },
  [`${AIGW_GROUP}/AIServiceBackend`]: { ...TOP, spec: { schema: true, backendRef: true, headerMutation: MUTATION, bodyMutation: MUTATION } },
  [`${AIGW_GROUP}/BackendSecurityPolicy`]: {
    ...TOP,
    spec: {
      targetRefs: true,
      type: true,
      apiKey: { secretRef: true },
      anthropicAPIKey: { secretRef: true },
      awsCredentials: true,
      azureAPIKey: true,
      azureCredentials: true,
      gcpCredentials: true,
      credentialOverride: true,
    },
  },
  [`${AIGW_GROUP}/GatewayConfig`]: { ...TOP, spec: { extProc: true, globalLLMRequestCosts: COST, forwardProxy: true } },
  [`${INFERENCE_GROUP}/InferencePool`]: {
    ...TOP,
    spec: { selector: true, targetPorts: true, endpointPickerRef: { group: true, kind: true, name: true, port: true, failureMode: true } },
  },
};

/** Warns about each key of `obj` its kind's schema does not know. */
export function warnUnknownFields(obj: AppliedObject, problems: Problems): void {
  const schema = SCHEMAS[`${obj.group}/${obj.kind}`];
  if (schema) walk(obj.object, schema, "", (field, message) => problems.warn(obj, field, message));
}

function walk(value: unknown, schema: Schema, path: string, warn: (field: string, message: string) => void): void {
  if (Array.isArray(value)) {
    value.forEach((v, i) => walk(v, schema, `${path}[${i}]`, warn));
    return;
  }
  if (!isRecord(value)) return;
  for (const [key, v] of Object.entries(value)) {
    const field = path ? `${path}.${key}` : key;
    const known = schema[key];
    if (known === undefined) {
      const near = closest(key, Object.keys(schema));
      warn(field, `unknown field, ignored${near ? ` (did you mean ${near}?)` : ""}`);
    } else if (known !== true) {
      walk(v, known, field, warn);
    }
  }
}

/** The known name nearest to `name` by edit distance, when it is near enough to be a misspelling. */
export function closest(name: string, known: string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const k of known) {
    const d = distance(name.toLowerCase(), k.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [k, d];
  }
  return bestDistance <= Math.max(2, Math.floor(name.length / 3)) ? best : undefined;
}

/** Levenshtein distance. */
function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = row;
  }
  return prev[b.length]!;
}
