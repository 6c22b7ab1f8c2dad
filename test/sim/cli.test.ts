import { afterEach, describe, expect, it, vi } from "vitest";
import { runSimCli as runSim } from "../../src-host/sim/cli.js";
import { request } from "./http-client.js";

const io = { stdout: () => undefined, stderr: () => undefined };
const runSimCli = (argv: string[]) => runSim(argv, io);

afterEach(() => {
  vi.restoreAllMocks();
  delete process.env.TESTUPSTREAM_ID;
});

/** Runs the CLI until it logs where it listens; returns that address and a function that stops it. */
async function start(argv: string[]): Promise<{ address: { address: string; port: number }; stop(): Promise<void>; logs: string[] }> {
  const logs: string[] = [];
  let listening: (a: { address: string; port: number }) => void = () => undefined;
  const ready = new Promise<{ address: string; port: number }>((r) => (listening = r));
  vi.spyOn(console, "log").mockImplementation((line: string) => {
    logs.push(line);
    const m = /listening on http:\/\/([\d.]+):(\d+)/.exec(line);
    if (m) listening({ address: m[1], port: Number(m[2]) });
  });
  const running = runSimCli(argv);
  const address = await Promise.race([ready, running.then(() => Promise.reject(new Error("CLI returned early")))]);
  return {
    address,
    logs,
    stop: async () => {
      process.emit("SIGTERM", "SIGTERM");
      await running;
    },
  };
}

describe("aigw sim", () => {
  it("runs the test upstream with TESTUPSTREAM_ID until SIGTERM", async () => {
    process.env.TESTUPSTREAM_ID = "cli-upstream";
    const cli = await start(["testupstream", "--host", "127.0.0.1", "--port", "0"]);
    const res = await request(cli.address, { path: "/v1/embeddings", body: "{}" });
    expect(res.headers["testupstream-id"]).toBe("cli-upstream");
    await cli.stop();
    expect(cli.logs.join("\n")).toMatch(/test upstream "cli-upstream" listening on/);
    await expect(request(cli.address, { path: "/health" })).rejects.toThrow();
  });

  it("runs the vLLM simulator with its flags until SIGTERM", async () => {
    const cli = await start(["vllm", "--model", "m", "--port", "0", "--max-num-seqs", "3"]);
    const res = await request(cli.address, { path: "/v1/models" });
    expect(JSON.parse(res.body.toString()).data[0].id).toBe("m");
    await cli.stop();
    expect(cli.logs[0]).toMatch(/vLLM simulator for m listening on http:\/\/127\.0\.0\.1:/);
  });

  it("refuses unknown simulators and bad flags, naming them", async () => {
    await expect(runSimCli(["triton"])).rejects.toThrow(/unknown simulator "triton"/);
    await expect(runSimCli(["testupstream", "--verbose"])).rejects.toThrow(/Unknown option '--verbose'/);
    await expect(runSimCli(["testupstream", "--port", "http"])).rejects.toThrow(/--port must be an integer from 0 to 65535, got "http"/);
    await expect(runSimCli(["vllm", "--model", "m", "--max-num-seqs", "x"])).rejects.toThrow(/--max-num-seqs/);
    await expect(runSimCli(["vllm", "--host"])).rejects.toThrow(/--host needs a value/);
  });
});
