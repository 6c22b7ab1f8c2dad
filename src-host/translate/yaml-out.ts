// Deterministic YAML: keys in the order the renderers build them, no anchors (an object used twice is
// written twice), no line folding (the plugin configuration is one long JSON string).

import { stringify } from "yaml";

/** One YAML document per element, each preceded by `---` after the first, under a comment header. */
export function yamlDocuments(docs: unknown[], header: string[]): string {
  const head = header.map((l) => (l === "" ? "#" : `# ${l}`)).join("\n");
  const body = docs.map((d) => stringify(d, { lineWidth: 0, minContentWidth: 0, aliasDuplicateObjects: false })).join("---\n");
  return `${head}\n${body}`;
}
