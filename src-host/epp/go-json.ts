// JSON the way the Go EPP reads and writes request/response bodies: encoding/json into map[string]any and back.
// Marshalling a Go map sorts keys (byte order), writes no spaces, escapes <, >, & and U+2028/U+2029, uses
// \b \f \n \r \t and \u00XX for control characters, and prints float64 numbers like ES6 (which JS also does).

export type GoJson = null | boolean | number | string | GoJson[] | { [key: string]: GoJson };

export type GoParse = { ok: true; value: Record<string, GoJson> } | { ok: false; error: string };

/** json.Unmarshal(body, &map[string]any): a top-level object (or null, which leaves the map empty). */
export function unmarshalObject(body: Uint8Array): GoParse {
  let value: unknown;
  let nonFinite = false;
  try {
    value = JSON.parse(Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString("utf8"), (_k, v: unknown) => {
      if (typeof v === "number" && !Number.isFinite(v)) nonFinite = true;
      return v;
    });
  } catch (err) {
    return { ok: false, error: (err as Error).message };
  }
  // Go refuses numbers that overflow float64 ("cannot unmarshal number 1e400 into Go value of type float64").
  if (nonFinite) return { ok: false, error: "number out of float64 range" };
  if (value === null) return { ok: true, value: {} };
  if (typeof value !== "object" || Array.isArray(value)) {
    return { ok: false, error: `cannot unmarshal ${Array.isArray(value) ? "array" : typeof value} into Go value of type map[string]interface {}` };
  }
  return { ok: true, value: value as Record<string, GoJson> };
}

/** json.Marshal of a value decoded by encoding/json into interface{}. */
export function marshalGo(value: GoJson): string {
  const out: string[] = [];
  write(value, out);
  return out.join("");
}

function write(v: GoJson, out: string[]): void {
  if (v === null) out.push("null");
  else if (typeof v === "boolean") out.push(v ? "true" : "false");
  else if (typeof v === "number") out.push(Object.is(v, -0) ? "-0" : String(v));
  else if (typeof v === "string") out.push(quote(v));
  else if (Array.isArray(v)) {
    out.push("[");
    v.forEach((item, i) => {
      if (i > 0) out.push(",");
      write(item, out);
    });
    out.push("]");
  } else {
    const keys = Object.keys(v).sort(compareUtf8);
    out.push("{");
    keys.forEach((k, i) => {
      if (i > 0) out.push(",");
      out.push(quote(k), ":");
      write(v[k] as GoJson, out);
    });
    out.push("}");
  }
}

// Go sorts map keys as byte strings; JS sorts UTF-16 code units, which differ above U+FFFF.
function compareUtf8(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
}

const HEX = "0123456789abcdef";

// Characters encoding/json escapes, plus surrogates: a valid pair passes through, a lone surrogate (which Go's
// decoder would already have turned into U+FFFD) becomes U+FFFD.
const ESCAPED = /[\u0000-\u001f"\\<>&\u2028\u2029]|[\ud800-\udbff][\udc00-\udfff]|[\ud800-\udfff]/g;

function quote(s: string): string {
  return '"' + s.replace(ESCAPED, escapeChar) + '"';
}

function escapeChar(ch: string): string {
  if (ch.length === 2) return ch;
  const c = ch.charCodeAt(0);
  switch (c) {
    case 0x22:
      return '\\"';
    case 0x5c:
      return "\\\\";
    case 0x08:
      return "\\b";
    case 0x0c:
      return "\\f";
    case 0x0a:
      return "\\n";
    case 0x0d:
      return "\\r";
    case 0x09:
      return "\\t";
    case 0x2028:
      return "\\u2028";
    case 0x2029:
      return "\\u2029";
  }
  if (c >= 0xd800 && c <= 0xdfff) return "\ufffd";
  return "\\u00" + HEX[c >> 4] + HEX[c & 0xf];
}
