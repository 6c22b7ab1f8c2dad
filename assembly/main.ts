import { parseCfg } from "./tmp/cfg";
@external("env", "proxy_log") declare function proxy_log(l: i32, p: usize, s: usize): i32;
export function proxy_abi_version_0_2_1(): void {}
export function malloc(size: usize): usize { const b = new ArrayBuffer(<i32>size); return __pin(changetype<usize>(b)); }
export function proxy_on_configure(root: u32, size: u32): bool {
  const c = parseCfg('{"name":"x","n":3}');
  const s = String.UTF8.encode(c.name + c.n.toString());
  proxy_log(2, changetype<usize>(s), s.byteLength);
  return true;
}
