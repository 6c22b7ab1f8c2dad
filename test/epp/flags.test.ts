// The EPP's flags, parsed with Go flag-package rules.
import { describe, expect, it } from "vitest";
import { parseEppFlags } from "../../src-host/epp/flags.js";

describe("EPP flags", () => {
  it("has the v1.0.x defaults", () => {
    const f = parseEppFlags(["--pool-name", "vllm"]);
    expect(f).toMatchObject({
      poolName: "vllm",
      poolNamespace: "default",
      poolGroup: "inference.networking.k8s.io",
      grpcPort: 9002,
      grpcHealthPort: 9003,
      metricsPort: 9090,
      secureServing: true,
      healthChecking: false,
      verbosity: 2,
      refreshMetricsIntervalMs: 50,
      refreshPrometheusMetricsIntervalMs: 5000,
      metricsStalenessThresholdMs: 2000,
      totalQueuedRequestsMetric: "vllm:num_requests_waiting",
      kvCacheUsagePercentageMetric: "vllm:gpu_cache_usage_perc",
      loraInfoMetric: "vllm:lora_requests_info",
      modelServerMetricsPath: "/metrics",
      modelServerMetricsScheme: "http",
      zapEncoder: "console",
      configFile: "",
    });
  });

  it("accepts the seed manifest's arguments in both spellings", () => {
    const args =
      "--pool-name vllm-llama3-8b-instruct --pool-namespace default --v 4 --zap-encoder json --grpc-port 9002 --grpc-health-port 9003 --config-file /config/default-plugins.yaml".split(
        " ",
      );
    const a = parseEppFlags(args);
    const b = parseEppFlags([
      "-pool-name=vllm-llama3-8b-instruct",
      "--pool-namespace=default",
      "-v=4",
      "--zap-encoder=json",
      "--grpc-port=9002",
      "--grpc-health-port=9003",
      "--config-file=/config/default-plugins.yaml",
    ]);
    expect(a).toEqual(b);
    expect(a).toMatchObject({ poolName: "vllm-llama3-8b-instruct", verbosity: 4, zapEncoder: "json", configFile: "/config/default-plugins.yaml" });
  });

  it("parses booleans and durations like Go", () => {
    expect(parseEppFlags(["--pool-name=p", "--secure-serving=false", "--health-checking"])).toMatchObject({ secureServing: false, healthChecking: true });
    expect(parseEppFlags(["--pool-name=p", "--secure-serving=F", "--health-checking=1"])).toMatchObject({ secureServing: false, healthChecking: true });
    expect(parseEppFlags(["--pool-name=p", "--refresh-metrics-interval=1m30s", "--metrics-staleness-threshold", "1.5s"])).toMatchObject({
      refreshMetricsIntervalMs: 90_000,
      metricsStalenessThresholdMs: 1500,
    });
    expect(parseEppFlags(["--pool-name=p", "--zap-log-level=debug", "--v=5"]).verbosity).toBe(1);
  });

  it("rejects bad input with errors naming the flag", () => {
    const bad: [string[], RegExp][] = [
      [["--pool-name=p", "--no-such-flag=1"], /flag provided but not defined: -no-such-flag/],
      [["--pool-name=p", "--grpc-port"], /flag needs an argument: -grpc-port/],
      [["--pool-name=p", "--grpc-port=ninety"], /invalid value "ninety" for flag -grpc-port/],
      [["--pool-name=p", "--grpc-port=70000"], /-grpc-port: port out of range/],
      [["--pool-name=p", "--secure-serving=nope"], /invalid value "nope" for flag -secure-serving/],
      [["--pool-name=p", "--secure-serving", "false"], /unexpected argument "false"/],
      [["--pool-name=p", "--refresh-metrics-interval=50"], /invalid value "50" for flag -refresh-metrics-interval/],
      [["--pool-name=p", "--refresh-metrics-interval=0s"], /-refresh-metrics-interval must be a positive duration/],
      [["--pool-name=p", "--zap-encoder=xml"], /-zap-encoder: unrecognized encoder/],
      [["--pool-name=p", "--model-server-metrics-scheme=ftp"], /-model-server-metrics-scheme/],
      [["--pool-name=p", "--config-file=a", "--config-text=b"], /mutually exclusive/],
      [["--pool-namespace=x"], /required "pool-name" flag not set/],
      [["---pool-name=p"], /bad flag syntax/],
    ];
    for (const [args, err] of bad) expect(() => parseEppFlags(args), args.join(" ")).toThrow(err);
  });
});
