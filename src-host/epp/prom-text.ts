// A small parser for the Prometheus text exposition format (version 0.0.4), enough for model-server /metrics:
// comments, HELP/TYPE lines, samples with escaped label values, special float values and optional timestamps.
// A malformed line fails the whole parse, as Go's expfmt.TextParser does.

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
  timestampMs?: number;
}

/** Samples grouped by sample name, in input order. */
export type SampleMap = Map<string, Sample[]>;

const NAME_START = /[a-zA-Z_:]/;
const NAME_CHAR = /[a-zA-Z0-9_:]/;
const LABEL_START = /[a-zA-Z_]/;
const LABEL_CHAR = /[a-zA-Z0-9_]/;

export function parsePrometheusText(text: string): SampleMap {
  const out: SampleMap = new Map();
  const lines = text.split("\n");
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n].replace(/\r$/, "");
    if (line.trim() === "" || line.trimStart().startsWith("#")) continue;
    let sample: Sample;
    try {
      sample = parseSample(line);
    } catch (err) {
      throw new Error(`metrics text line ${n + 1}: ${(err as Error).message}: ${JSON.stringify(line.slice(0, 120))}`);
    }
    const list = out.get(sample.name);
    if (list) list.push(sample);
    else out.set(sample.name, [sample]);
  }
  return out;
}

function parseSample(line: string): Sample {
  let i = 0;
  while (line[i] === " " || line[i] === "\t") i++;
  const nameStart = i;
  if (!NAME_START.test(line[i] ?? "")) throw new Error("invalid metric name");
  while (i < line.length && NAME_CHAR.test(line[i])) i++;
  const name = line.slice(nameStart, i);
  const labels: Record<string, string> = {};
  if (line[i] === "{") {
    i++;
    for (;;) {
      while (line[i] === " ") i++;
      if (line[i] === "}") {
        i++;
        break;
      }
      const ls = i;
      if (!LABEL_START.test(line[i] ?? "")) throw new Error("invalid label name");
      while (i < line.length && LABEL_CHAR.test(line[i])) i++;
      const label = line.slice(ls, i);
      while (line[i] === " ") i++;
      if (line[i] !== "=") throw new Error(`expected '=' after label ${label}`);
      i++;
      while (line[i] === " ") i++;
      if (line[i] !== '"') throw new Error(`expected '"' for label ${label}`);
      i++;
      let value = "";
      for (;;) {
        const c = line[i];
        if (c === undefined) throw new Error(`unterminated value for label ${label}`);
        if (c === '"') {
          i++;
          break;
        }
        if (c === "\\") {
          const e = line[i + 1];
          if (e === "n") value += "\n";
          else if (e === "\\" || e === '"') value += e;
          else throw new Error(`invalid escape \\${e ?? ""} in label ${label}`);
          i += 2;
        } else {
          value += c;
          i++;
        }
      }
      if (label in labels) throw new Error(`duplicate label ${label}`);
      labels[label] = value;
      while (line[i] === " ") i++;
      if (line[i] === ",") i++;
      else if (line[i] !== "}") throw new Error("expected ',' or '}' in label set");
    }
  }
  const rest = line
    .slice(i)
    .trim()
    .split(/[ \t]+/);
  if (rest.length < 1 || rest.length > 2 || rest[0] === "") throw new Error("expected value [timestamp]");
  const sample: Sample = { name, labels, value: parseValue(rest[0]) };
  if (rest.length === 2) {
    if (!/^-?\d+$/.test(rest[1])) throw new Error("invalid timestamp");
    sample.timestampMs = Number(rest[1]);
  }
  return sample;
}

function parseValue(s: string): number {
  switch (s) {
    case "NaN":
      return NaN;
    case "+Inf":
    case "Inf":
      return Infinity;
    case "-Inf":
      return -Infinity;
  }
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(s)) throw new Error(`invalid value ${s}`);
  return Number(s);
}
