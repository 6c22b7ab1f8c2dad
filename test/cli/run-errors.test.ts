// aigw run's start-up refusals keep the file/object/field promise: a cost expression the filter's CEL
// compiler refuses, a misspelled field, a busy port, a missing module — each said before anything serves.
import net from "node:net";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runGateway } from "../../src-host/cli/run.js";
import { ConfigError } from "../../src-host/config/read/problems.js";
import { GATEWAY, ipBackend, manifestDir, route } from "../config/helpers.js";

const costsRoute = (costs: string) => route("r", [["m", "{name: b}"]]) + `  llmRequestCosts:\n${costs}`;

async function startError(
  files: Record<string, string>,
  opts: { modulePath?: string; port?: number; adminPort?: number } = {},
): Promise<{ dir: string; err: Error; logs: string[] }> {
  const dir = manifestDir(files);
  const logs: string[] = [];
  const err = await runGateway({ paths: [dir], port: 0, adminPort: 0, log: (l) => logs.push(l), ...opts }).then(
    async (gw) => {
      await gw.close();
      throw new Error("started");
    },
    (e: Error) => e,
  );
  return { dir, err, logs };
}

describe("aigw run refuses at start", () => {
  it("a CEL cost the filter cannot compile, naming file, object and field (not a wasm log line)", async () => {
    const { dir, err, logs } = await startError({
      "gw.yaml": GATEWAY,
      "b.yaml": ipBackend("b"),
      "r.yaml": costsRoute(
        `    - {metadataKey: ok, type: CEL, cel: "input_tokens + output_tokens"}\n    - {metadataKey: bad, type: CEL, cel: "input_tokens +"}\n`,
      ),
    });
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message).toMatch(
      new RegExp(
        `^invalid configuration: ${join(dir, "r.yaml")}: AIGatewayRoute default/r: spec\\.llmRequestCosts\\[1\\]\\.cel: ERROR: <input>:1:15: Syntax error: expected an operand`,
      ),
    );
    expect(logs.filter((l) => l.startsWith("wasm log") || l.startsWith("started "))).toEqual([]);
  });

  it("a missing filter module, suggesting make", async () => {
    const { err } = await startError(
      { "gw.yaml": GATEWAY, "b.yaml": ipBackend("b"), "r.yaml": route("r", [["m", "{name: b}"]]) },
      { modulePath: "/nonexistent/ai-gateway.wasm" },
    );
    expect(err.message).toBe("the filter module /nonexistent/ai-gateway.wasm does not exist: build it with make (or pass --module PATH)");
  });
});

describe("aigw run and a busy port", () => {
  const files = { "gw.yaml": GATEWAY, "b.yaml": ipBackend("b"), "r.yaml": route("r", [["m", "{name: b}"]]) };

  it("names the listener that cannot listen and the flag that moves it", async () => {
    const squatter = net.createServer();
    await new Promise<void>((resolve) => squatter.listen(0, "127.0.0.1", resolve));
    const port = (squatter.address() as net.AddressInfo).port;
    try {
      const listener = await startError(files, { port });
      expect(listener.err.message).toBe(
        `the Gateway listener default/gw/http cannot listen on 127.0.0.1:${port}: the address is in use; choose another with --port N (0: any free port)`,
      );
      const admin = await startError(files, { adminPort: port });
      expect(admin.err.message).toBe(
        `the admin listener cannot listen on 127.0.0.1:${port}: the address is in use; choose another with --admin-port N (0: any free port)`,
      );
    } finally {
      await new Promise((resolve) => squatter.close(resolve));
    }
  });
});
