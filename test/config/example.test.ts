// The seed example kept in envoy/examples/inference-pool: the guide's manifests, in its order, unmodified.
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { parseAllDocuments } from "yaml";
import { describe, expect, test } from "vitest";
import { step3, step4, step5 } from "./guide-objects.js";

const EXAMPLE = "envoy/examples/inference-pool";
const SEED = "../shared/seed";
// The seed sits beside the repository in the workspace it is built in; a clone elsewhere cannot compare
// against it, and says so by skipping those tests.
const HAVE_SEED = existsSync(SEED);

/** The heredocs of the guide (`cat <<EOF | kubectl apply -f -` … `EOF`), in order. */
function guideHeredocs(): string[][] {
  const blocks: string[][] = [];
  let current: string[] | undefined;
  for (const line of readFileSync(`${SEED}/aigatewayroute-inferencepool-guide.txt`, "utf8").split("\n")) {
    if (line.startsWith("cat <<EOF")) current = [];
    else if (current && line === "EOF") {
      blocks.push(current);
      current = undefined;
    } else if (current) current.push(line);
  }
  return blocks;
}

const parse = (file: string): unknown[] =>
  parseAllDocuments(readFileSync(`${EXAMPLE}/${file}`, "utf8")).map((d) => {
    expect(d.errors).toEqual([]);
    return d.toJS();
  });

describe("envoy/examples/inference-pool", () => {
  test("holds the guide's six manifests, named so that lexical order is apply order", () => {
    expect(
      readdirSync(EXAMPLE)
        .filter((n) => n.endsWith(".yaml"))
        .sort(),
    ).toEqual([
      "01-sim-deployment.yaml",
      "02-inferenceobjective.yaml",
      "03-inferencepool-resources.yaml",
      "04-custom-inferencepool.yaml",
      "05-aiservicebackend.yaml",
      "06-aigatewayroute.yaml",
    ]);
  });

  test.skipIf(!HAVE_SEED).each([
    ["01-sim-deployment.yaml", "sim-deployment.yaml"],
    ["02-inferenceobjective.yaml", "inferenceobjective.yaml"],
    ["03-inferencepool-resources.yaml", "inferencepool-resources.yaml"],
  ])("Step 2: %s is byte-identical to the seed's %s", (ours, seed) => {
    const a = readFileSync(`${EXAMPLE}/${ours}`);
    const b = readFileSync(`${SEED}/gateway-api-inference-extension-v1.0.1/${seed}`);
    expect(a.equals(b)).toBe(true);
  });

  test.skipIf(!HAVE_SEED)("Steps 3-5 keep every line of the guide (fields, values, comments, order); only indentation was restored", () => {
    const blocks = guideHeredocs();
    expect(blocks).toHaveLength(3);
    const files = ["04-custom-inferencepool.yaml", "05-aiservicebackend.yaml", "06-aigatewayroute.yaml"];
    files.forEach((file, i) => {
      const ours = readFileSync(`${EXAMPLE}/${file}`, "utf8")
        .split("\n")
        .map((l) => l.trim())
        .filter(Boolean);
      const guide = blocks[i]!.map((l) => l.trim()).filter(Boolean);
      expect(ours).toEqual(guide);
    });
  });

  test("Step 3 parses to exactly the guide's objects", () => {
    expect(parse("04-custom-inferencepool.yaml")).toEqual(step3);
  });

  test("Step 4 parses to exactly the guide's objects", () => {
    expect(parse("05-aiservicebackend.yaml")).toEqual(step4);
  });

  test("Step 5 parses to exactly the guide's objects", () => {
    expect(parse("06-aigatewayroute.yaml")).toEqual(step5);
  });

  test("the README says where each file came from", () => {
    const readme = readFileSync(`${EXAMPLE}/README.md`, "utf8");
    for (const f of readdirSync(EXAMPLE).filter((n) => n.endsWith(".yaml"))) expect(readme).toContain(f);
  });
});
