// Builds small wasm binaries for load-time tests: the exact imports, exports and bodies a case needs.
type Val = "i32" | "i64";
const VAL = { i32: 0x7f, i64: 0x7e } as const;

export interface ImportSpec {
  module: string;
  name: string;
  params?: readonly Val[];
  results?: readonly Val[];
  /** Import a global instead of a function. */
  global?: boolean;
}

export interface FuncSpec {
  params?: Val[];
  results?: Val[];
  /** Instructions without the final `end`. */
  body?: number[];
  exports: string[];
}

export interface ModuleSpec {
  imports?: ImportSpec[];
  funcs?: FuncSpec[];
  memory?: boolean;
  data?: Array<{ offset: number; bytes: Uint8Array }>;
}

export const op = {
  i32const: (n: number) => [0x41, ...sleb(n)],
  call: (i: number) => [0x10, ...uleb(i)],
  drop: [0x1a],
  unreachable: [0x00],
  i32eq: [0x46],
  i32mul: [0x6c],
  memoryGrow: [0x40, 0x00],
};

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n) b |= 0x80;
    out.push(b);
  } while (n);
  return out;
}

function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && !(b & 0x40)) || (n === -1 && b & 0x40)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}

const str = (s: string) => [...uleb(Buffer.byteLength(s)), ...Buffer.from(s)];
const vec = (items: number[][]) => [...uleb(items.length), ...items.flat()];
const section = (id: number, content: number[]) => [id, ...uleb(content.length), ...content];

export function buildModule(spec: ModuleSpec): Uint8Array {
  const types: string[] = [];
  const typeIndex = (params: readonly Val[] = [], results: readonly Val[] = []) => {
    const key = `${params.join(",")}->${results.join(",")}`;
    let i = types.indexOf(key);
    if (i < 0) i = types.push(key) - 1;
    return i;
  };
  const imports = spec.imports ?? [];
  const funcs = spec.funcs ?? [];
  const importEntries = imports.map((im) =>
    im.global ? [...str(im.module), ...str(im.name), 0x03, 0x7f, 0x00] : [...str(im.module), ...str(im.name), 0x00, ...uleb(typeIndex(im.params, im.results))],
  );
  const funcTypes = funcs.map((f) => uleb(typeIndex(f.params, f.results)));
  const funcImports = imports.filter((i) => !i.global).length;
  const exports: number[][] = [];
  funcs.forEach((f, i) => f.exports.forEach((name) => exports.push([...str(name), 0x00, ...uleb(funcImports + i)])));
  if (spec.memory !== false) exports.push([...str("memory"), 0x02, 0x00]);
  const typeEntries = types.map((key) => {
    const [p, r] = key.split("->") as [string, string];
    const ps = p ? (p.split(",") as Val[]) : [];
    const rs = r ? (r.split(",") as Val[]) : [];
    return [0x60, ...vec(ps.map((v) => [VAL[v]])), ...vec(rs.map((v) => [VAL[v]]))];
  });
  const code = funcs.map((f) => {
    const body = [0x00, ...(f.body ?? []), 0x0b]; // no locals
    return [...uleb(body.length), ...body];
  });
  const bytes = [
    0x00,
    0x61,
    0x73,
    0x6d,
    0x01,
    0x00,
    0x00,
    0x00,
    ...section(1, vec(typeEntries)),
    ...(imports.length ? section(2, vec(importEntries)) : []),
    ...section(3, vec(funcTypes)),
    ...(spec.memory !== false ? section(5, vec([[0x00, 0x01]])) : []),
    ...section(7, vec(exports)),
    ...section(10, vec(code)),
    ...(spec.data?.length ? section(11, vec(spec.data.map((d) => [0x00, ...op.i32const(d.offset), 0x0b, ...uleb(d.bytes.length), ...d.bytes]))) : []),
  ];
  return Uint8Array.from(bytes);
}

/** The smallest module Envoy accepts: marker, memory, malloc (returning a fixed pointer). */
export const MARKER: FuncSpec = { exports: ["proxy_abi_version_0_2_1"] };
export const MALLOC: FuncSpec = { params: ["i32"], results: ["i32"], body: op.i32const(1024), exports: ["malloc"] };
