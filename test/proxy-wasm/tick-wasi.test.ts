// Ticks per root context per VM, and the WASI functions as Envoy implements them.
import { afterEach, describe, expect, it } from "vitest";
import { LogLevel } from "../../src-host/proxy-wasm/index.js";
import { type Loaded, loadFixture, until } from "./helpers.js";

let loaded: Loaded | undefined;
afterEach(async () => {
  await loaded?.filter.close();
  loaded = undefined;
});

describe("ticks", () => {
  it("each VM's root context ticks on its own timer until it sets the period to 0", async () => {
    const l = (loaded = await loadFixture("host-tick", { workers: 2 }));
    await until(() => l.messages().length >= 6, "three ticks per VM");
    await new Promise((r) => setTimeout(r, 60));
    expect(l.messages(0)).toEqual(["tick 1 1", "tick 1 2", "tick 1 3"]);
    expect(l.messages(1)).toEqual(["tick 1 1", "tick 1 2", "tick 1 3"]);
  });
});

describe("WASI", () => {
  it("logs stdout at info and stderr at error, runs clocks and random_get within 64 KiB, exposes the environment", async () => {
    const l = (loaded = await loadFixture("host-wasi", {}, { environment: { A: "1", MODEL: "m" } }));
    const lines = l.logs.map((x) => [x.level, x.message]);
    const now = Math.floor(Date.now() / 1000);
    expect(lines.slice(0, 2)).toEqual([
      [LogLevel.Info, "to stdout"],
      [LogLevel.Error, "to stderr"],
    ]);
    const messages = l.messages();
    expect(messages).toContain("fd3 8"); // EBADF
    const realtime = messages.find((m) => m.startsWith("realtime"))!.split(" ");
    expect(realtime[1]).toBe("0");
    expect(Math.abs(Number(realtime[2]) - now)).toBeLessThan(5);
    expect(messages).toContain("monotonic 0");
    expect(messages).toContain("cputime 58"); // ENOTSUP
    expect(messages).toContain("random 0 28"); // 64 KiB ok, one more byte EINVAL
    expect(messages).toContain("environ 2 A=1;MODEL=m");
    expect(messages).toContain("after proc_exit"); // proc_exit logs and returns
    expect(lines).toContainEqual([LogLevel.Error, "wasi proc_exit(3) called; Envoy does not stop the module"]);
    expect(messages).toContain("path_open 44 fd_read 52");
  });
});
