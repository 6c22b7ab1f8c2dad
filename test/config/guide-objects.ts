// The objects the guide's Steps 3, 4 and 5 show, written out by hand from the guide text
// (../shared/seed/aigatewayroute-inferencepool-guide.txt), to check the indentation restored in
// envoy/examples/inference-pool/04..06 gives exactly these objects.

const testupstreamTemplate = (app: string) => ({
  metadata: { labels: { app } },
  spec: {
    containers: [
      {
        name: "testupstream",
        image: "docker.io/envoyproxy/ai-gateway-testupstream:latest",
        imagePullPolicy: "IfNotPresent",
        ports: [{ containerPort: 8080 }],
        env: [{ name: "TESTUPSTREAM_ID", value: "test" }],
        readinessProbe: { httpGet: { path: "/health", port: 8080 }, initialDelaySeconds: 1, periodSeconds: 1 },
      },
    ],
  },
});

export const step3 = [
  {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: "mistral-upstream", namespace: "default" },
    spec: {
      selector: { app: "mistral-upstream" },
      ports: [{ protocol: "TCP", port: 8080, targetPort: 8080 }],
      clusterIP: "None",
    },
  },
  {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "mistral-upstream", namespace: "default" },
    spec: { replicas: 3, selector: { matchLabels: { app: "mistral-upstream" } }, template: testupstreamTemplate("mistral-upstream") },
  },
  {
    apiVersion: "inference.networking.k8s.io/v1",
    kind: "InferencePool",
    metadata: { name: "mistral", namespace: "default" },
    spec: {
      targetPorts: [{ number: 8080 }],
      selector: { matchLabels: { app: "mistral-upstream" } },
      endpointPickerRef: { name: "mistral-epp", port: { number: 9002 } },
    },
  },
  {
    apiVersion: "inference.networking.x-k8s.io/v1alpha2",
    kind: "InferenceObjective",
    metadata: { name: "mistral", namespace: "default" },
    spec: { priority: 10, poolRef: { name: "mistral" } },
  },
  {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: "mistral-epp", namespace: "default" },
    spec: {
      selector: { app: "mistral-epp" },
      ports: [{ protocol: "TCP", port: 9002, targetPort: 9002, appProtocol: "http2" }],
      type: "ClusterIP",
    },
  },
  { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "mistral-epp", namespace: "default" } },
  {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "mistral-epp", namespace: "default", labels: { app: "mistral-epp" } },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: "mistral-epp" } },
      template: {
        metadata: { labels: { app: "mistral-epp" } },
        spec: {
          serviceAccountName: "mistral-epp",
          terminationGracePeriodSeconds: 130,
          containers: [
            {
              name: "epp",
              image: "registry.k8s.io/gateway-api-inference-extension/epp:v1.0.1",
              imagePullPolicy: "IfNotPresent",
              args: [
                "--pool-name",
                "mistral",
                "--pool-namespace",
                "default",
                "--v",
                "4",
                "--zap-encoder",
                "json",
                "--grpc-port",
                "9002",
                "--grpc-health-port",
                "9003",
                "--config-file",
                "/config/default-plugins.yaml",
              ],
              ports: [{ containerPort: 9002 }, { containerPort: 9003 }, { name: "metrics", containerPort: 9090 }],
              livenessProbe: {
                grpc: { port: 9003, service: "inference-extension" },
                initialDelaySeconds: 5,
                periodSeconds: 10,
              },
              readinessProbe: {
                grpc: { port: 9003, service: "inference-extension" },
                initialDelaySeconds: 5,
                periodSeconds: 10,
              },
              volumeMounts: [{ name: "plugins-config-volume", mountPath: "/config" }],
            },
          ],
          volumes: [{ name: "plugins-config-volume", configMap: { name: "plugins-config" } }],
        },
      },
    },
  },
  {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: "plugins-config", namespace: "default" },
    data: {
      "default-plugins.yaml": [
        "apiVersion: inference.networking.x-k8s.io/v1alpha1",
        "kind: EndpointPickerConfig",
        "plugins:",
        "- type: queue-scorer",
        "- type: kv-cache-utilization-scorer",
        "- type: prefix-cache-scorer",
        "schedulingProfiles:",
        "- name: default",
        "  plugins:",
        "  - pluginRef: queue-scorer",
        "  - pluginRef: kv-cache-utilization-scorer",
        "  - pluginRef: prefix-cache-scorer",
        "",
      ].join("\n"),
    },
  },
  {
    kind: "Role",
    apiVersion: "rbac.authorization.k8s.io/v1",
    metadata: { name: "pod-read", namespace: "default" },
    rules: [
      { apiGroups: ["inference.networking.x-k8s.io"], resources: ["inferenceobjectives", "inferencepools"], verbs: ["get", "watch", "list"] },
      { apiGroups: ["inference.networking.k8s.io"], resources: ["inferencepools"], verbs: ["get", "watch", "list"] },
      { apiGroups: [""], resources: ["pods"], verbs: ["get", "watch", "list"] },
    ],
  },
  {
    kind: "RoleBinding",
    apiVersion: "rbac.authorization.k8s.io/v1",
    metadata: { name: "pod-read-binding", namespace: "default" },
    subjects: [{ kind: "ServiceAccount", name: "mistral-epp", namespace: "default" }],
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "pod-read" },
  },
  {
    kind: "ClusterRole",
    apiVersion: "rbac.authorization.k8s.io/v1",
    metadata: { name: "auth-reviewer" },
    rules: [
      { apiGroups: ["authentication.k8s.io"], resources: ["tokenreviews"], verbs: ["create"] },
      { apiGroups: ["authorization.k8s.io"], resources: ["subjectaccessreviews"], verbs: ["create"] },
    ],
  },
  {
    kind: "ClusterRoleBinding",
    apiVersion: "rbac.authorization.k8s.io/v1",
    metadata: { name: "auth-reviewer-binding" },
    subjects: [{ kind: "ServiceAccount", name: "mistral-epp", namespace: "default" }],
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "auth-reviewer" },
  },
];

export const step4 = [
  {
    apiVersion: "aigateway.envoyproxy.io/v1alpha1",
    kind: "AIServiceBackend",
    metadata: { name: "envoy-ai-gateway-basic-testupstream", namespace: "default" },
    spec: {
      schema: { name: "OpenAI" },
      backendRef: { name: "envoy-ai-gateway-basic-testupstream", kind: "Backend", group: "gateway.envoyproxy.io" },
    },
  },
  {
    apiVersion: "gateway.envoyproxy.io/v1alpha1",
    kind: "Backend",
    metadata: { name: "envoy-ai-gateway-basic-testupstream", namespace: "default" },
    spec: { endpoints: [{ fqdn: { hostname: "envoy-ai-gateway-basic-testupstream.default.svc.cluster.local", port: 80 } }] },
  },
  {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "envoy-ai-gateway-basic-testupstream", namespace: "default" },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: "envoy-ai-gateway-basic-testupstream" } },
      template: testupstreamTemplate("envoy-ai-gateway-basic-testupstream"),
    },
  },
  {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: "envoy-ai-gateway-basic-testupstream", namespace: "default" },
    spec: {
      selector: { app: "envoy-ai-gateway-basic-testupstream" },
      ports: [{ protocol: "TCP", port: 80, targetPort: 8080 }],
      type: "ClusterIP",
    },
  },
];

const modelRule = (model: string, backendRef: Record<string, string>) => ({
  matches: [{ headers: [{ type: "Exact", name: "x-ai-eg-model", value: model }] }],
  backendRefs: [backendRef],
});

export const step5 = [
  {
    apiVersion: "gateway.networking.k8s.io/v1",
    kind: "GatewayClass",
    metadata: { name: "inference-pool-with-aigwroute" },
    spec: { controllerName: "gateway.envoyproxy.io/gatewayclass-controller" },
  },
  {
    apiVersion: "gateway.networking.k8s.io/v1",
    kind: "Gateway",
    metadata: { name: "inference-pool-with-aigwroute", namespace: "default" },
    spec: {
      gatewayClassName: "inference-pool-with-aigwroute",
      listeners: [{ name: "http", protocol: "HTTP", port: 80 }],
    },
  },
  {
    apiVersion: "aigateway.envoyproxy.io/v1alpha1",
    kind: "AIGatewayRoute",
    metadata: { name: "inference-pool-with-aigwroute", namespace: "default" },
    spec: {
      parentRefs: [{ name: "inference-pool-with-aigwroute", kind: "Gateway", group: "gateway.networking.k8s.io" }],
      rules: [
        modelRule("meta-llama/Llama-3.1-8B-Instruct", {
          group: "inference.networking.k8s.io",
          kind: "InferencePool",
          name: "vllm-llama3-8b-instruct",
        }),
        modelRule("mistral:latest", { group: "inference.networking.k8s.io", kind: "InferencePool", name: "mistral" }),
        modelRule("some-cool-self-hosted-model", { name: "envoy-ai-gateway-basic-testupstream" }),
      ],
    },
  },
];
