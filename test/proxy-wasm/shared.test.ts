// Shared data and queues are process-wide per vm_id: visible from every worker VM, with one CAS counter.
import { afterEach, describe, expect, it } from "vitest";
import type { HeaderList } from "../../src-host/dataplane-api/http-filter.js";
import { type Loaded, loadFixture, openStream, reqHeaders, uniqueVmId, until } from "./helpers.js";

const loadedFilters: Loaded[] = [];
afterEach(async () => {
  for (const l of loadedFilters.splice(0)) await l.filter.close();
});

async function load(vmId = uniqueVmId(), workers = 2) {
  const l = await loadFixture("host-shared", { vmId, workers });
  loadedFilters.push(l);
  return l;
}

function request(l: Loaded, h: HeaderList): string {
  const before = l.logs.length;
  const { stream } = openStream(l.filter);
  stream.requestHeaders(reqHeaders(h), true);
  stream.complete();
  const line = l.logs.slice(before).at(-1)!;
  return `vm${line.vm}: ${line.message}`;
}

describe("shared data", () => {
  it("is shared across worker VMs, with compare-and-swap on a global counter", async () => {
    const l = await load();
    expect(
      request(l, [
        ["x-op", "get"],
        ["x-key", "k"],
      ]),
    ).toBe("vm0: get 1"); // NotFound
    expect(
      request(l, [
        ["x-op", "set"],
        ["x-key", "k"],
        ["x-value", "v1"],
        ["x-cas", "0"],
      ]),
    ).toBe("vm1: set 0");
    const got = request(l, [
      ["x-op", "get"],
      ["x-key", "k"],
    ]);
    expect(got).toMatch(/^vm0: get 0 v1 \d+$/);
    const cas = Number(got.split(" ").at(-1));
    expect(cas).toBeGreaterThan(0);
    // A stale CAS is refused, the current one accepted, and every set advances the CAS.
    expect(
      request(l, [
        ["x-op", "set"],
        ["x-key", "k"],
        ["x-value", "v2"],
        ["x-cas", String(cas + 1000)],
      ]),
    ).toBe("vm1: set 8");
    expect(
      request(l, [
        ["x-op", "set"],
        ["x-key", "k"],
        ["x-value", "v2"],
        ["x-cas", String(cas)],
      ]),
    ).toBe("vm0: set 0");
    expect(
      request(l, [
        ["x-op", "get"],
        ["x-key", "k"],
      ]),
    ).toBe(`vm1: get 0 v2 ${cas + 1}`);
    // cas = 0 is unconditional.
    expect(
      request(l, [
        ["x-op", "set"],
        ["x-key", "k"],
        ["x-value", "v3"],
        ["x-cas", "0"],
      ]),
    ).toBe("vm0: set 0");
    expect(
      request(l, [
        ["x-op", "get"],
        ["x-key", "k"],
      ]),
    ).toBe(`vm1: get 0 v3 ${cas + 2}`);
  });

  it("is keyed by vm_id: another vm_id does not see it, the same vm_id does", async () => {
    const vmId = uniqueVmId();
    const a = await load(vmId, 1);
    const b = await load(vmId, 1);
    const c = await load(uniqueVmId(), 1);
    request(a, [
      ["x-op", "set"],
      ["x-key", "shared"],
      ["x-value", "yes"],
      ["x-cas", "0"],
    ]);
    expect(
      request(b, [
        ["x-op", "get"],
        ["x-key", "shared"],
      ]),
    ).toMatch(/^vm0: get 0 yes \d+$/);
    expect(
      request(c, [
        ["x-op", "get"],
        ["x-key", "shared"],
      ]),
    ).toBe("vm0: get 1");
  });
});

describe("shared queues", () => {
  it("delivers on_queue_ready to the root context that registered last, in its VM", async () => {
    const l = await load();
    // Both roots registered "q"; the token is the same and VM 1 (the last) owns the callback.
    const reg = l.messages().filter((m) => m.startsWith("registered"));
    expect(reg).toHaveLength(2);
    expect(new Set(reg).size).toBe(1);
    expect(
      request(l, [
        ["x-op", "enqueue"],
        ["x-queue", "q"],
        ["x-value", "hello"],
      ]),
    ).toBe("vm0: enqueue 0 0");
    await until(() => l.messages().some((m) => m.startsWith("drained")), "on_queue_ready");
    expect(l.logs.filter((x) => x.message.startsWith("dequeued") || x.message.startsWith("drained")).map((x) => `vm${x.vm}: ${x.message}`)).toEqual([
      "vm1: dequeued 1 hello",
      "vm1: drained 7",
    ]);
  });

  it("resolves by vm_id; an unknown queue is NotFound", async () => {
    const l = await load();
    expect(
      request(l, [
        ["x-op", "enqueue"],
        ["x-queue", "nope"],
        ["x-value", "x"],
      ]),
    ).toBe("vm0: enqueue 1 -1");
    expect(
      request(l, [
        ["x-op", "enqueue"],
        ["x-queue", "q"],
        ["x-vm", "other-vm-id"],
        ["x-value", "x"],
      ]),
    ).toBe("vm1: enqueue 1 -1");
  });
});
