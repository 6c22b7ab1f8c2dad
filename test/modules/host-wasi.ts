// WASI as Envoy provides it, exercised at configure: stdout/stderr to the log, clocks, random_get's
// limit, the environment, proc_exit returning, and refused file access.
import { OUT, log, utf8 } from "./host-common/abi";
export { malloc } from "./host-common/abi";

@external("wasi_snapshot_preview1", "fd_write") declare function fd_write(fd: u32, iovs: usize, n: usize, written: usize): u16;
@external("wasi_snapshot_preview1", "clock_time_get") declare function clock_time_get(id: u32, precision: u64, out: usize): u16;
@external("wasi_snapshot_preview1", "random_get") declare function random_get(buf: usize, len: usize): u16;
@external("wasi_snapshot_preview1", "environ_sizes_get") declare function environ_sizes_get(count: usize, size: usize): u16;
@external("wasi_snapshot_preview1", "environ_get") declare function environ_get(env: usize, buf: usize): u16;
@external("wasi_unstable", "proc_exit") declare function proc_exit(code: u32): void;
@external("wasi_unstable", "path_open") declare function path_open(fd: u32, df: u32, pp: usize, ps: usize, oflags: u32, rb: u64, ri: u64, ff: u32, out: usize): u16;
@external("wasi_unstable", "fd_read") declare function fd_read(fd: u32, iovs: usize, n: usize, read: usize): u16;

export function proxy_abi_version_0_2_1(): void {}

function write(fd: u32, s: string): u16 {
  const b = utf8(s);
  const iov = memory.data(8);
  store<u32>(iov, changetype<usize>(b));
  store<u32>(iov + 4, b.byteLength);
  return fd_write(fd, iov, 1, OUT + 8);
}

export function proxy_on_configure(root: u32, size: u32): bool {
  write(1, "to stdout\n");
  write(2, "to stderr\n");
  log("fd3 " + write(3, "x").toString());
  log("realtime " + clock_time_get(0, 1, OUT + 16).toString() + " " + (load<u64>(OUT + 16) / 1000000000).toString());
  log("monotonic " + clock_time_get(1, 1, OUT + 16).toString());
  log("cputime " + clock_time_get(2, 1, OUT + 16).toString());
  const buf = heap.alloc(65537);
  log("random " + random_get(buf, 65536).toString() + " " + random_get(buf, 65537).toString());
  environ_sizes_get(OUT, OUT + 4);
  const count = load<u32>(OUT);
  const bytes = load<u32>(OUT + 4);
  const ptrs = heap.alloc(count * 4);
  const data = heap.alloc(bytes);
  environ_get(ptrs, data);
  log("environ " + count.toString() + " " + String.UTF8.decodeUnsafe(data, bytes - 1).replaceAll("\0", ";"));
  proc_exit(3);
  log("after proc_exit");
  log("path_open " + path_open(3, 0, 0, 0, 0, 0, 0, 0, OUT).toString() + " fd_read " + fd_read(0, 0, 0, OUT).toString());
  return true;
}
