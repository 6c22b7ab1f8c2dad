import { defineConfig } from "vitest/config";

// `make bench`: benchmarks are files test/bench/*.bench.ts that print their figures beside a same-run baseline.
export default defineConfig({
  test: {
    include: ["test/bench/**/*.bench.ts"],
    globalSetup: ["test/global-setup.ts"],
    testTimeout: 600_000,
    pool: "forks",
    fileParallelism: false,
  },
});
