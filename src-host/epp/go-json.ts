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

function quote(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x22 || c === 0x5c || c === 0x3c || c === 0x3e || c === 0x26) {
      switch (c) {
        case 0x22: out += '\\"'; break;
        case 0x5c: out += "\\\\"; break;
        case 0x08: out += "\\b"; break;
        case 0x0c: out += "\\f"; break;
        case 0x0a: out += "\\n"; break;
        case 0x0d: out += "\\r"; break;
        case 0x09: out += "\\t"; break;
        default: out += "\\u00" + HEX[c >> 4] + HEX[c & 0xf];
      }
    } else if (c === 0x2028 || c === 0x2029) {
      out += c === 0x2028 ? "\\u2028" : "\\u2029";
    } else if (c >= 0xd800 && c <= 0xdfff) {
      // A valid surrogate pair is one code point. Go's decoder turns a lone surrogate ("\\ud800") into U+FFFD,
      // which the encoder then writes as a plain character.
      const next = s.charCodeAt(i + 1);
      if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
        out += s[i] + s[i + 1];
        i++;
      } else {
        out += "\ufffd";
      }
    } else {
      out += s[i];
    }
  }
  return out + '"';
}
