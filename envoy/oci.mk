# Included by the top-level Makefile (after WASM and HOST are defined).
#   make oci            build/ai-gateway.wasm as an OCI image layout in build/oci (no Docker needed), the
#                       "compat" Wasm image Envoy Gateway pulls; push it with oras or skopeo (envoy/README.md)
#   make envoy-config   regenerate envoy/envoy.yaml and envoy/docker-compose.yaml from the seed example, and
#                       envoy/prometheus/ai-gateway-rules.yaml
OCI_DIR ?= build/oci
OCI_TAG ?= $(shell node -p "require('./package.json').version")

.PHONY: oci envoy-config

oci: $(WASM) $(HOST)
	node build/host/src-host/translate/oci.js --wasm $(WASM) --out $(OCI_DIR) --tag $(OCI_TAG)

envoy-config: $(HOST)
	node build/host/src-host/cli/aigw.js translate --target envoy --docker -o envoy
	node build/host/src-host/translate/prometheus-rules.js envoy/prometheus/ai-gateway-rules.yaml
