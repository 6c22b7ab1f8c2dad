// aigw as a user meets it: --help for every command (exit 0), usage errors (exit 2), failures (exit 1),
// version, and healthcheck against the admin /health endpoint. In-process through runAigw, and as a
// process through bin/aigw.mjs (the package's bin).
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { startAdmin } from "../../src-host/gateway/admin.js";
import { AIGW_USAGE, runAigw } from "../../src-host/cli/main.js";

async function aigw(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const code = await runAigw(argv, { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t) });
  return { code, stdout, stderr };
}

describe("aigw --help", () => {
  it("prints each command's usage on stdout and exits 0", async () => {
    const commands: Array<[string[], RegExp]> = [
      [["run"], /^usage: aigw run \[FILE\|DIR \.\.\.\]/],
      [["translate"], /^usage: aigw translate/],
      [["epp"], /^usage: aigw epp --pool-name NAME/],
      [["sim"], /^usage: aigw sim vllm/],
      [["sim", "vllm"], /^usage: aigw sim vllm/],
      [["sim", "testupstream"], /^usage: aigw sim vllm/],
      [["healthcheck"], /^usage: aigw healthcheck/],
    ];
    for (const [command, usage] of commands) {
      for (const flag of ["--help", "-h"]) {
        const r = await aigw(...command, flag);
        expect(r, `${command.join(" ")} ${flag}`).toMatchObject({ code: 0, stderr: "" });
        expect(r.stdout).toMatch(usage);
      }
      expect((await aigw("help", command[0]!)).stdout).toMatch(usage);
    }
    expect(await aigw("--help")).toEqual({ code: 0, stdout: `${AIGW_USAGE}\n`, stderr: "" });
    expect(await aigw("help")).toEqual({ code: 0, stdout: `${AIGW_USAGE}\n`, stderr: "" });
  });

  it("names every flag of run, incl. how the listener port maps", async () => {
    const { stdout } = await aigw("run", "--help");
    for (const flag of ["--port N", "--admin-port N", "--workers N", "--module PATH", "--pod-block N"]) expect(stdout).toContain(flag);
    expect(stdout).toMatch(/Gateway's listener on 127\.0\.0\.1:N, whatever its own port/);
  });
});

describe("aigw usage errors", () => {
  it("exit 2 with the reason and a pointer to --help", async () => {
    const cases: Array<[string[], RegExp]> = [
      [["run", "--bogus"], /^aigw run: Unknown option '--bogus'/],
      [["run", "--port", "http"], /^aigw run: --port must be an integer from 0 to 65535, got "http"/],
      [["run", "--port"], /^aigw run: Option '--port <value>' argument missing/],
      [["run", "--workers", "0"], /^aigw run: --workers must be an integer from 1 to 64/],
      [["run", "--pod-block", "0"], /^aigw run: --pod-block must be an integer from 1 to 255, got "0"/],
      [["translate", "--target", "istio"], /^aigw translate: --target must be envoy or envoy-gateway/],
      [["translate", "--target", "envoy-gateway"], /^aigw translate: --target envoy-gateway needs where Envoy Gateway fetches the module/],
      [["epp", "--bogus"], /^aigw epp: flag provided but not defined: -bogus/],
      [["epp", "--pool-name", "p"], /^aigw epp: aigw epp needs --endpoints-file FILE/],
      [["sim"], /^aigw sim: which simulator\? vllm or testupstream/],
      [["sim", "triton"], /^aigw sim: unknown simulator "triton"/],
      [["sim", "testupstream", "--port", "99999"], /^aigw sim: --port must be an integer from 0 to 65535/],
      [["sim", "vllm", "--model", "m", "--max-num-seqs", "x"], /^aigw sim: .*--max-num-seqs/],
      [["healthcheck", "--admin-port", "x"], /^aigw healthcheck: --admin-port must be an integer from 1 to 65535/],
      [["healthcheck", "--admin-address", "10.0.0.1"], /^aigw healthcheck: --admin-address must be an IPv4 loopback address/],
      [["version", "extra"], /^aigw version: unexpected argument "extra"/],
    ];
    for (const [argv, message] of cases) {
      const r = await aigw(...argv);
      expect(r.code, argv.join(" ")).toBe(2);
      expect(r.stderr, argv.join(" ")).toMatch(message);
      expect(r.stderr).toContain(`Run "aigw ${argv[0]} --help" for usage.`);
    }
  });

  it("an unknown or missing command exits 2 with the command list", async () => {
    expect(await aigw("serve")).toEqual({ code: 2, stdout: "", stderr: `aigw: unknown command "serve"\n${AIGW_USAGE}\n` });
    expect(await aigw()).toEqual({ code: 2, stdout: "", stderr: `${AIGW_USAGE}\n` });
  });

  it("a run that cannot start exits 1, not 2", async () => {
    const r = await aigw("run", "no/such/dir");
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^aigw run: .*no\/such\/dir/);
  });
});

describe("aigw version", () => {
  it("prints the package version", async () => {
    const { version } = JSON.parse(readFileSync("package.json", "utf8")) as { version: string };
    expect(await aigw("version")).toEqual({ code: 0, stdout: `aigw ${version}\n`, stderr: "" });
    expect((await aigw("--version")).stdout).toBe(`aigw ${version}\n`);
  });
});

describe("aigw healthcheck", () => {
  it("exits 0 when /health answers 200, 1 while the gateway is not ready or not there", async () => {
    let state: string | undefined = "INITIALIZING";
    const admin = await startAdmin(
      { address: "127.0.0.1", port: 0 },
      { notReady: () => state, prometheus: () => "", statsText: () => "", configDump: () => ({}) },
    );
    const port = String(admin.address.port);
    try {
      const starting = await aigw("healthcheck", "--admin-port", port);
      expect(starting.code).toBe(1);
      expect(starting.stderr).toBe(`aigw healthcheck: http://127.0.0.1:${port}/health answered 503: INITIALIZING\n`);
      state = undefined;
      expect(await aigw("healthcheck", `--admin-port=${port}`)).toEqual({ code: 0, stdout: "OK\n", stderr: "" });
    } finally {
      await admin.close();
    }
    const gone = await aigw("healthcheck", "--admin-port", port);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toMatch(/ECONNREFUSED \(is aigw run serving with --admin-port \d+\?\)/);
  });
});

describe("bin/aigw.mjs (the package's bin)", () => {
  const run = (...argv: string[]) => spawnSync(process.execPath, ["bin/aigw.mjs", ...argv], { encoding: "utf8", timeout: 60_000 });

  it("passes exit codes and streams through", () => {
    const help = run("run", "--help");
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/^usage: aigw run/);
    const bad = run("run", "--frobnicate");
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/^aigw run: Unknown option '--frobnicate'/);
    const missing = run("run", "no/such/dir");
    expect(missing.status).toBe(1);
    expect(missing.stdout).toBe("");
  });
});
