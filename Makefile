# Build, test, run and benchmark the AI gateway. Every target installs dependencies when they are missing.
ASC      := node_modules/.bin/asc
TSC      := node_modules/.bin/tsc
BIOME    := node_modules/.bin/biome
# The TypeScript and JavaScript Biome formats and lints (assembly/ is AssemblyScript: .ci/lint-assembly.mjs).
FORMATTED := src-host test contract .ci bin
VITEST   := node_modules/.bin/vitest
WASM     := build/ai-gateway.wasm
# The same module without SIMD, for WAMR as Envoy builds it (SIMD off); src-host/translate/runtime.ts says why.
WASM_SCALAR := build/ai-gateway-scalar.wasm
# The test build the memory checker runs (test/assembly/memcheck.ts): debug, AssemblyScript's rtrace hooks
# (an import module Envoy would refuse), no bulk memory so that memory.copy and memory.fill are stores too.
WASM_MEMCHECK := build/ai-gateway.memcheck.wasm
HOST     := build/host/.stamp
AS_SRC   := $(shell find assembly -name '*.ts' 2>/dev/null)
TS_SRC   := $(shell find src-host -name '*.ts' 2>/dev/null)
ABI_CHECK := ../shared/tools/wasm-abi-check.mjs
AS_TESTS := $(wildcard test/modules/*.ts)
AS_TEST_WASM := $(patsubst test/modules/%.ts,test/.build/%.wasm,$(AS_TESTS))
# json-as generates only its slow-path deserializers: the configuration is parsed once, at configure time,
# and the fast-path variants are a quarter of the module (374 → 288 KB, no change per request).
export JSON_USE_FAST_PATH := 0

.PHONY: all build wasm host test-modules cpp-host test check format contract bench fuzz memcheck run check-abi clean

all build: wasm host

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

# Each module is checked by the ABI checker when the workspace has it; the scalar one must hold no v128.
abi_check = if [ -f $(ABI_CHECK) ]; then node $(ABI_CHECK) $(1) >/dev/null || { node $(ABI_CHECK) $(1); rm -f $(1); exit 1; }; fi

wasm: $(WASM) $(WASM_SCALAR)
$(WASM): node_modules/.package-lock.json asconfig.json Makefile $(AS_SRC)
	$(ASC) assembly/main.ts --config asconfig.json --target release
	@$(call abi_check,$@)
$(WASM_SCALAR): node_modules/.package-lock.json asconfig.json Makefile $(AS_SRC)
	$(ASC) assembly/main.ts --config asconfig.json --target release --disable simd --outFile $@ --textFile $(@:.wasm=.wat)
	@if grep -q v128 $(@:.wasm=.wat); then echo "$@ uses SIMD"; rm -f $@; exit 1; fi
	@$(call abi_check,$@)

$(WASM_MEMCHECK): node_modules/.package-lock.json asconfig.json Makefile $(AS_SRC)
	$(ASC) assembly/main.ts --config asconfig.json --target debug --use ASC_RTRACE=1 --disable bulk-memory --outFile $@

host: $(HOST)
$(HOST): node_modules/.package-lock.json tsconfig.json $(TS_SRC)
	$(TSC) -p tsconfig.json
	@touch $@

# Small AssemblyScript modules the host conformance tests load, one behaviour each.
test-modules: $(AS_TEST_WASM)
test/.build/%.wasm: test/modules/%.ts node_modules/.package-lock.json $(AS_SRC) $(wildcard test/modules/*/*.ts)
	@mkdir -p test/.build
	$(ASC) $< --config test/modules/asconfig.json --outFile $@

# The memory checker's own faults, built as its test build of the module is.
test/.build/memcheck-faults.wasm: test/modules/memcheck-faults.ts node_modules/.package-lock.json
	@mkdir -p test/.build
	$(ASC) $< --config test/modules/asconfig.json --debug --use ASC_RTRACE=1 --disable bulk-memory --outFile $@

# proxy-wasm-cpp-host on WAMR (test/cpp-host): the differential tests' second host. Skipped, with the
# reason, where the toolchain or the sources are missing.
cpp-host:
	@test/cpp-host/build.sh

test: node_modules/.package-lock.json wasm host test-modules cpp-host
	$(VITEST) run

# Types of the host, the tests and the benchmarks (the build compiles src-host/ only), the files generated
# from the host/filter contract, Biome's formatting and its lint with the import boundaries (biome.jsonc);
# CI runs it first. `make format` applies the formatting.
check: node_modules/.package-lock.json
	node contract/generate.mjs --check
	$(TSC) -p tsconfig.check.json
	$(BIOME) format $(FORMATTED)
	$(BIOME) lint --error-on-warnings $(FORMATTED)
	node .ci/lint-assembly.mjs

format: node_modules/.package-lock.json
	$(BIOME) format --write $(FORMATTED)

# Regenerates src-host/config/plugin-config.ts and assembly/gateway/plugin-config.ts from contract/plugin-config.mjs.
contract:
	node contract/generate.mjs

# Benchmarks print each figure beside a baseline measured in the same run.
bench: build test-modules
	$(VITEST) run --config test/bench/vitest.config.ts

# The seeded fuzz test of `make test` (20,000 inputs) as a long run; FUZZ_SEED=N for another sequence.
fuzz: node_modules/.package-lock.json wasm test-modules
	FUZZ_INPUTS=$${FUZZ_INPUTS:-1000000} $(VITEST) run test/assembly/gateway/filter/fuzz.test.ts

# The filter's tests and the fuzz run (20,000 inputs) on the module's test build under the memory checker:
# every store outside the runtime must land in an allocated block (test/assembly/memcheck.ts).
memcheck: node_modules/.package-lock.json $(WASM_MEMCHECK) test-modules
	MEMCHECK=1 FUZZ_INPUTS=$${FUZZ_INPUTS:-20000} $(VITEST) run test/assembly/gateway/filter/

run: build
	node build/host/src-host/cli/aigw.js run

check-abi: $(WASM) $(WASM_SCALAR)
	node $(ABI_CHECK) $(WASM)
	node $(ABI_CHECK) $(WASM_SCALAR)

clean:
	rm -rf build test/.build

# make oci (the module as an OCI image layout) and make envoy-config (regenerate envoy/).
include envoy/oci.mk
