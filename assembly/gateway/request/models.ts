// GET /v1/models (as Envoy AI Gateway v1.1.0's internal/extproc/models_processor.go answers it): the configured models in OpenAI's list shape. Built once per
// configuration; the glue answers 200 with content-type application/json.

import { jsonQuote } from "../errors";
import { ModelInfo } from "../plugin-config";

/** Envoy AI Gateway's default `owned_by` (AIGatewayRoute rule `modelsOwnedBy`). */
export const DEFAULT_MODEL_OWNER = "Envoy AI Gateway";

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
