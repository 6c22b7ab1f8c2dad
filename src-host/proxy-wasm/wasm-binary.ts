// Reads what a loader needs from a wasm binary without instantiating it: function types, imports (with
// their signatures, which WebAssembly.Module.imports() does not report), exports and the start section.

export type ValType = "i32" | "i64" | "f32" | "f64" | "v128" | "funcref" | "externref" | "?";

export interface FuncSig {
  params: ValType[];
  results: ValType[];
}

export interface ImportEntry {
  module: string;
  name: string;
  kind: "func" | "table" | "memory" | "global" | "tag";
  sig?: FuncSig;
}

export interface ExportEntry {
  name: string;
  kind: "func" | "table" | "memory" | "global" | "tag";
  sig?: FuncSig;
}

export interface ModuleInfo {
  imports: ImportEntry[];
  exports: ExportEntry[];
  hasStart: boolean;
}

const VALTYPES: Record<number, ValType> = { 0x7f: "i32", 0x7e: "i64", 0x7d: "f32", 0x7c: "f64", 0x7b: "v128", 0x70: "funcref", 0x6f: "externref" };
const KINDS = ["func", "table", "memory", "global", "tag"] as const;

export const sigString = (s: FuncSig | undefined): string => (s ? `(${s.params.join(",")})->(${s.results.join(",")})` : "?");

export class WasmParseError extends Error {}

export function parseModule(bytes: Uint8Array): ModuleInfo {
  if (bytes.length < 8 || bytes[0] !== 0 || bytes[1] !== 0x61 || bytes[2] !== 0x73 || bytes[3] !== 0x6d) {
    throw new WasmParseError("not a wasm module (bad magic)");
  }
  let p = 8;
  const need = (n: number) => {
    if (p + n > bytes.length) throw new WasmParseError("truncated wasm module");
  };
  const byte = () => {
    need(1);
    return bytes[p++]!;
  };
  const u32 = () => {
    let result = 0;
    let shift = 0;
    for (;;) {
      const b = byte();
      result |= (b & 0x7f) << shift;
      if (!(b & 0x80)) return result >>> 0;
      shift += 7;
      if (shift > 35) throw new WasmParseError("bad LEB128");
    }
  };
  const name = () => {
    const len = u32();
    need(len);
    const s = new TextDecoder().decode(bytes.subarray(p, p + len));
    p += len;
    return s;
  };
  const limits = () => {
    const flags = u32();
    u32();
    if (flags & 1) u32();
  };
  const types: FuncSig[] = [];
  const funcs: FuncSig[] = [];
  const imports: ImportEntry[] = [];
  const exports: ExportEntry[] = [];
  let hasStart = false;
  while (p < bytes.length) {
    const id = byte();
    const size = u32();
    const end = p + size;
    if (end > bytes.length) throw new WasmParseError("truncated wasm section");
    if (id === 1) {
      for (let n = u32(); n > 0; n--) {
        if (byte() !== 0x60) throw new WasmParseError("unsupported type form");
        const params: ValType[] = [];
        for (let k = u32(); k > 0; k--) params.push(VALTYPES[byte()] ?? "?");
        const results: ValType[] = [];
        for (let k = u32(); k > 0; k--) results.push(VALTYPES[byte()] ?? "?");
        types.push({ params, results });
      }
    } else if (id === 2) {
      for (let n = u32(); n > 0; n--) {
        const module = name();
        const field = name();
        const kind = byte();
        if (kind === 0) {
          const sig = types[u32()];
          imports.push({ module, name: field, kind: "func", sig });
          funcs.push(sig ?? { params: [], results: [] });
        } else if (kind === 1) {
          byte();
          limits();
          imports.push({ module, name: field, kind: "table" });
        } else if (kind === 2) {
          limits();
          imports.push({ module, name: field, kind: "memory" });
        } else if (kind === 3) {
          byte();
          byte();
          imports.push({ module, name: field, kind: "global" });
        } else if (kind === 4) {
          byte();
          u32();
          imports.push({ module, name: field, kind: "tag" });
        } else {
          throw new WasmParseError(`unknown import kind ${kind}`);
        }
      }
    } else if (id === 3) {
      for (let n = u32(); n > 0; n--) funcs.push(types[u32()] ?? { params: [], results: [] });
    } else if (id === 7) {
      for (let n = u32(); n > 0; n--) {
        const field = name();
        const kind = byte();
        const index = u32();
        const k = KINDS[kind];
        if (!k) throw new WasmParseError(`unknown export kind ${kind}`);
        exports.push({ name: field, kind: k, sig: k === "func" ? funcs[index] : undefined });
      }
    } else if (id === 8) {
      hasStart = true;
    }
    p = end;
  }
  return { imports, exports, hasStart };
}
