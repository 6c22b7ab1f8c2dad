// Reads Kubernetes YAML the way `kubectl apply -f` does: files and directories (a directory's *.yaml and
// *.yml files in lexical order, not recursive), multi-document YAML, `kind: List`, and apply semantics:
// a later object with the same API group, kind, namespace and name replaces the earlier one.

import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { LineCounter, parseAllDocuments } from "yaml";
import type { AppliedObject, KubeObject } from "./objects.js";
import { isClusterScoped, kindSupport, objectKey, splitApiVersion } from "./objects.js";
import type { Problems } from "./problems.js";

/** The files `paths` name, in apply order. A missing path is a problem, not an empty set. */
export function expandPaths(paths: string[], problems: Problems): string[] {
  const files: string[] = [];
  for (const p of paths) {
    let isDir: boolean;
    try {
      isDir = statSync(p).isDirectory();
    } catch (err) {
      problems.fileError(p, `cannot read: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
      continue;
    }
    if (!isDir) {
      files.push(p);
      continue;
    }
    const names = readdirSync(p)
      .filter((n) => /\.ya?ml$/.test(n) && !statSync(join(p, n)).isDirectory())
      .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    if (names.length === 0) problems.fileError(p, "directory holds no *.yaml or *.yml file");
    for (const n of names) files.push(join(p, n));
  }
  return files;
}

/** Parses and applies every object of `files` in order. */
export function applyManifests(files: string[], problems: Problems): AppliedObject[] {
  const applied = new Map<string, AppliedObject>();
  for (const file of files) {
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch (err) {
      problems.fileError(file, `cannot read: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
      continue;
    }
    for (const obj of parseFile(file, text, problems)) {
      // Map.set on an existing key keeps the original position: the object exists since its first apply.
      applied.set(objectKey(obj.group, obj.kind, obj.namespace, obj.name), obj);
    }
  }
  return [...applied.values()];
}

export function parseFile(file: string, text: string, problems: Problems): AppliedObject[] {
  const lines = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter: lines, prettyErrors: true });
  if (!Array.isArray(docs)) return []; // an empty stream
  const out: AppliedObject[] = [];
  docs.forEach((doc, i) => {
    const where = `${file}:${lines.linePos(doc.contents?.range[0] ?? doc.range[0]).line}`;
    const e = doc.errors[0];
    if (e) {
      // Later errors of a document usually follow from the first.
      const at = e.linePos ? `${file}:${e.linePos[0].line}` : where;
      problems.fileError(at, `document ${i + 1}: malformed YAML: ${firstLine(e.message)}`);
      return;
    }
    const value: unknown = doc.toJS({ maxAliasCount: 100 });
    if (doc.contents === null || value === null) return; // "---" with nothing (or only comments) after it
    const line = lines.linePos(doc.contents.range[0]).line;
    readObject(value, `${where}: document ${i + 1}`, file, line, problems, out);
  });
  return out;
}

function readObject(value: unknown, where: string, file: string, line: number, problems: Problems, out: AppliedObject[]): void {
  if (!isRecord(value)) {
    problems.fileError(where, "not a Kubernetes object (expected a mapping with apiVersion, kind and metadata)");
    return;
  }
  const { apiVersion, kind, metadata } = value;
  const missing: string[] = [];
  if (typeof apiVersion !== "string" || apiVersion === "") missing.push("apiVersion");
  if (typeof kind !== "string" || kind === "") missing.push("kind");
  if (missing.length > 0) {
    for (const m of missing) problems.fileError(where, `${m}: required (a non-empty string)`);
    return;
  }
  const { group, version } = splitApiVersion(apiVersion as string);
  if (kind === "List" && group === "" && version === "v1") {
    const items = value.items;
    if (!Array.isArray(items)) problems.fileError(where, "List: items: must be a list");
    else items.forEach((item, j) => readObject(item, `${where}: items[${j}]`, file, line, problems, out));
    return;
  }
  const label = `${kind as string}`;
  if (!isRecord(metadata)) {
    problems.fileError(where, `${label}: metadata: required`);
    return;
  }
  if (typeof metadata.name !== "string" || metadata.name === "") {
    problems.fileError(where, `${label}: metadata.name: required${metadata.generateName !== undefined ? " (generateName is not supported)" : ""}`);
    return;
  }
  const clusterScoped = isClusterScoped(group, kind as string);
  let namespace = "";
  if (!clusterScoped) {
    if (metadata.namespace === undefined) namespace = "default";
    else if (typeof metadata.namespace === "string" && metadata.namespace !== "") namespace = metadata.namespace;
    else {
      problems.fileError(where, `${label} ${metadata.name}: metadata.namespace: must be a non-empty string`);
      return;
    }
  }
  const object = { ...value, metadata: { ...metadata, ...(clusterScoped ? {} : { namespace }) } } as KubeObject;
  const applied: AppliedObject = { source: file, line, group, version, kind: kind as string, namespace, name: metadata.name, object };
  const support = kindSupport(group, version, kind as string);
  if (support.status === "unsupported") {
    problems.error(applied, "", support.reason);
    return;
  }
  out.push(applied);
}

function firstLine(message: string): string {
  const nl = message.indexOf("\n");
  return (nl < 0 ? message : message.slice(0, nl)).replace(/:$/, "");
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
