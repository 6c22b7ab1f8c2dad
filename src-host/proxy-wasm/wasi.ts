// The WASI functions Envoy provides (cpp-host exports.cc), registered under wasi_snapshot_preview1 and
// wasi_unstable: stdout/stderr go to the log at info/error, clocks and random work, the environment comes
// from the VM config, proc_exit only logs, and file access is refused with Envoy's errno values.
import { randomFillSync } from "node:crypto";
import { LogLevel } from "./abi.js";
import { utf8Bytes, utf8String } from "./bytes.js";
import type { Vm } from "./vm.js";

const ESUCCESS = 0;
const EBADF = 8;
const EFAULT = 21;
const EINVAL = 28;
const ENOENT = 44;
const ENOSYS = 52;
const ENOTSUP = 58;

/** cpp-host limits.h: random_get returns at most 64 KiB per call. */
export const RANDOM_GET_MAX_BYTES = 64 * 1024;

type Fn = (...args: any[]) => number | void; // eslint-disable-line @typescript-eslint/no-explicit-any
const u = (x: number) => x >>> 0;
const startHr = process.hrtime.bigint();

export function createWasiImports(vm: Vm): Record<string, Fn> {
  const mem = () => vm.memory;
  const envEntries = () => vm.env.environment.map(([k, v]) => utf8Bytes(`${k}=${v}\0`));

  return {
    fd_write(fd: number, iovs: number, iovsLen: number, nwrittenPtr: number) {
      const level = fd === 1 ? LogLevel.Info : fd === 2 ? LogLevel.Error : -1;
      if (level < 0) return EBADF;
      const parts: Uint8Array[] = [];
      for (let i = 0; i < u(iovsLen); i++) {
        const base = mem().getU32(u(iovs) + i * 8);
        const len = mem().getU32(u(iovs) + i * 8 + 4);
        if (base === undefined || len === undefined) return EFAULT;
        if (len === 0) continue;
        const chunk = mem().read(base, len);
        if (!chunk) return EFAULT;
        parts.push(chunk);
      }
      let text = utf8String(Buffer.concat(parts));
      const written = Buffer.byteLength(text);
      if (written > 0) {
        if (text.endsWith("\n")) text = text.slice(0, -1);
        vm.log(level, text);
      }
      return mem().setU32(u(nwrittenPtr), written) ? ESUCCESS : EFAULT;
    },
    fd_read() {
      return ENOSYS;
    },
    fd_seek() {
      return ESUCCESS;
    },
    fd_close() {
      return ESUCCESS;
    },
    fd_fdstat_get(fd: number, statPtr: number) {
      if (fd !== 1 && fd !== 2) return EBADF;
      const stat = new Uint8Array(24);
      new DataView(stat.buffer).setBigUint64(8, 64n, true); // fs_rights_base = FD_WRITE
      return mem().write(u(statPtr), stat) ? ESUCCESS : EFAULT;
    },
    environ_get(arrayPtr: number, bufPtr: number) {
      let a = u(arrayPtr);
      let b = u(bufPtr);
      for (const entry of envEntries()) {
        if (!mem().setU32(a, b) || !mem().write(b, entry)) return EFAULT;
        a += 4;
        b += entry.length;
      }
      return ESUCCESS;
    },
    environ_sizes_get(countPtr: number, sizePtr: number) {
      const entries = envEntries();
      const size = entries.reduce((n, e) => n + e.length, 0);
      return mem().setU32(u(countPtr), entries.length) && mem().setU32(u(sizePtr), size) ? ESUCCESS : EFAULT;
    },
    args_get() {
      return ESUCCESS;
    },
    args_sizes_get(argcPtr: number, sizePtr: number) {
      return mem().setU32(u(argcPtr), 0) && mem().setU32(u(sizePtr), 0) ? ESUCCESS : EFAULT;
    },
    clock_time_get(clockId: number, _precision: bigint, resultPtr: number) {
      let t: bigint;
      if (clockId === 0) t = BigInt(Date.now()) * 1_000_000n + (process.hrtime.bigint() % 1_000_000n);
      else if (clockId === 1) t = process.hrtime.bigint() - startHr;
      else return ENOTSUP;
      return mem().setU64(u(resultPtr), t) ? ESUCCESS : EFAULT;
    },
    random_get(bufPtr: number, len: number) {
      if (u(len) > RANDOM_GET_MAX_BYTES) return EINVAL;
      const bytes = new Uint8Array(u(len));
      randomFillSync(bytes);
      return mem().write(u(bufPtr), bytes) ? ESUCCESS : EFAULT;
    },
    proc_exit(code: number) {
      // Envoy logs and returns: execution continues in the module.
      vm.log(LogLevel.Error, `wasi proc_exit(${code}) called; Envoy does not stop the module`);
    },
    path_open() {
      return ENOENT;
    },
    fd_prestat_get() {
      return EBADF;
    },
    fd_prestat_dir_name() {
      return ENOSYS;
    },
  };
}
