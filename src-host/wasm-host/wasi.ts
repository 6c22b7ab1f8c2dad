// The WASI functions as Envoy (proxy-wasm-cpp-host exports.cc) provides them: stdout/stderr go to the
// log at info/error, clocks and random bytes work, there are no arguments or environment variables,
// proc_exit only logs, and the file-system calls are stubs.
import { randomFillSync } from "node:crypto";
import { LogLevel } from "./types.js";

const ERRNO_SUCCESS = 0;
const ERRNO_BADF = 8;
const ERRNO_INVAL = 28;
const ERRNO_NOENT = 44;
const ERRNO_NOSYS = 52;
/** cpp-host limits.h: at most 64 KiB of random bytes per call. */
const MAX_RANDOM_BYTES = 64 * 1024;

export interface WasiEnv {
  memory(): Uint8Array;
  log(level: number, message: string): void;
}

export class WasiHost {
  constructor(private readonly env: WasiEnv) {}

  functions(): Record<string, (...args: never[]) => unknown> {
    const view = () => {
      const m = this.env.memory();
      return { m, dv: new DataView(m.buffer) };
    };
    const fns: Record<string, (...args: any[]) => number | void> = {
      fd_write: (fd: number, iovs: number, iovsLen: number, nwritten: number) => {
        if (fd !== 1 && fd !== 2) return ERRNO_BADF;
        const { m, dv } = view();
        const parts: Uint8Array[] = [];
        let total = 0;
        for (let i = 0; i < iovsLen; i++) {
          const ptr = dv.getUint32(iovs + i * 8, true);
          const len = dv.getUint32(iovs + i * 8 + 4, true);
          parts.push(m.slice(ptr, ptr + len));
          total += len;
        }
        dv.setUint32(nwritten, total, true);
        const text = Buffer.concat(parts).toString("utf8").replace(/\n$/, "");
        this.env.log(fd === 1 ? LogLevel.Info : LogLevel.Error, text);
        return ERRNO_SUCCESS;
      },
      fd_read: () => ERRNO_NOSYS,
      fd_seek: () => ERRNO_BADF,
      fd_close: () => ERRNO_BADF,
      fd_fdstat_get: (fd: number, out: number) => {
        if (fd > 2) return ERRNO_BADF;
        const { m, dv } = view();
        m.fill(0, out, out + 24);
        dv.setUint8(out, 2); // character device
        return ERRNO_SUCCESS;
      },
      environ_get: () => ERRNO_SUCCESS,
      environ_sizes_get: (count: number, size: number) => {
        const { dv } = view();
        dv.setUint32(count, 0, true);
        dv.setUint32(size, 0, true);
        return ERRNO_SUCCESS;
      },
      args_get: () => ERRNO_SUCCESS,
      args_sizes_get: (count: number, size: number) => {
        const { dv } = view();
        dv.setUint32(count, 0, true);
        dv.setUint32(size, 0, true);
        return ERRNO_SUCCESS;
      },
      clock_time_get: (id: number, _precision: bigint, out: number) => {
        let ns: bigint;
        if (id === 0) ns = BigInt(Math.round((performance.timeOrigin + performance.now()) * 1e6));
        else if (id === 1) ns = process.hrtime.bigint();
        else return ERRNO_INVAL;
        view().dv.setBigUint64(out, ns, true);
        return ERRNO_SUCCESS;
      },
      random_get: (ptr: number, len: number) => {
        if (len > MAX_RANDOM_BYTES) return ERRNO_INVAL;
        randomFillSync(view().m, ptr, len);
        return ERRNO_SUCCESS;
      },
      proc_exit: (code: number) => {
        this.env.log(LogLevel.Error, `proc_exit(${code}) called; ignored as Envoy does`);
      },
      path_open: () => ERRNO_NOENT,
      fd_prestat_get: () => ERRNO_BADF,
      fd_prestat_dir_name: () => ERRNO_NOSYS,
    };
    return fns as Record<string, (...args: never[]) => unknown>;
  }
}
