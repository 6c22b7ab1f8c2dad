// Header-map operations with Envoy's HeaderMapImpl semantics on the contract's HeaderList (lower-case
// names, pseudo-headers first, repeated names as repeated entries). Maps are changed in place: the
// list the data plane handed in is the list forwarded, as Envoy shares one header map per stream.
import type { HeaderList } from "../dataplane-api/http-filter.js";
import { latin1Bytes } from "./bytes.js";

const isPseudo = (key: string) => key.charCodeAt(0) === 58; // ':'

/** Appends; a pseudo-header goes after the existing pseudo-headers (HeaderMapImpl::insertByKey). */
export function addHeader(map: HeaderList, key: string, value: string): void {
  const k = key.toLowerCase();
  if (isPseudo(k)) {
    let i = 0;
    while (i < map.length && isPseudo(map[i]![0])) i++;
    map.splice(i, 0, [k, value]);
  } else {
    map.push([k, value]);
  }
}

export function removeHeader(map: HeaderList, key: string): void {
  const k = key.toLowerCase();
  let w = 0;
  for (let r = 0; r < map.length; r++) if (map[r]![0] !== k) map[w++] = map[r]!;
  map.length = w;
}

/** setCopy with http_set_copy_replace_all_headers: every existing entry goes, one new entry is added. */
export function replaceHeader(map: HeaderList, key: string, value: string): void {
  removeHeader(map, key);
  addHeader(map, key, value);
}

/** The first value (Envoy returns only the first of a repeated header). */
export function getHeader(map: HeaderList, key: string): string | undefined {
  const k = key.toLowerCase();
  for (const [name, value] of map) if (name === k) return value;
  return undefined;
}

/** All values joined with "," (HeaderUtility::getAllOfHeaderAsString, used by request.headers[...]). */
export function getHeaderJoined(map: HeaderList, key: string): string | undefined {
  const k = key.toLowerCase();
  const values = map.filter(([name]) => name === k).map(([, v]) => v);
  return values.length ? values.join(",") : undefined;
}

export function setHeaders(map: HeaderList, pairs: ReadonlyArray<readonly [string, string]>): void {
  map.length = 0;
  for (const [k, v] of pairs) addHeader(map, k, v);
}

/** HeaderMap::byteSize(): the sum of key and value lengths, in bytes. */
export function headerByteSize(map: HeaderList): number {
  let n = 0;
  for (const [k, v] of map) n += Buffer.byteLength(k, "latin1") + Buffer.byteLength(v, "latin1");
  return n;
}

/** Header pairs → latin1 strings, lower-cased keys as Envoy's LowerCaseString. */
export function pairsToHeaders(pairs: ReadonlyArray<readonly [Uint8Array, Uint8Array]>): HeaderList {
  return pairs.map(([k, v]) => [Buffer.from(k).toString("latin1").toLowerCase(), Buffer.from(v).toString("latin1")]);
}

export const headersToPairs = (h: HeaderList): Array<[Uint8Array, Uint8Array]> => h.map(([k, v]) => [latin1Bytes(k), latin1Bytes(v)]);
