// The filter inside proxy-wasm-cpp-host on WAMR, embedded the way Envoy embeds it
// (envoyproxy/envoy source/extensions/common/wasm/context.cc, foreign.cc; v1.36), driven line by line.
//
//   aigw-cpp-host-{scalar,simd} MODULE PLUGIN_CONFIG_FILE VM_ID ROOT_ID VMS
//
// Standard input: one command per line; standard output: what the host observed, then "done" per command.
// Bytes travel as lower-case hex ("-" for empty). test/cpp-host/cpp-host.ts speaks this protocol; the
// same data-plane rules as the Node driver (test/cpp-host/node-host.ts) run here in C++.
#include <cctype>
#include <chrono>
#include <ctime>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "include/proxy-wasm/context.h"
#include "include/proxy-wasm/exports.h"
#include "include/proxy-wasm/wamr.h"
#include "include/proxy-wasm/wasm.h"

using namespace proxy_wasm;
using HeaderList = std::vector<std::pair<std::string, std::string>>;

namespace {

std::string hex(std::string_view s) {
  static const char *digits = "0123456789abcdef";
  if (s.empty()) return "-";
  std::string out;
  out.reserve(s.size() * 2);
  for (unsigned char c : s) {
    out.push_back(digits[c >> 4]);
    out.push_back(digits[c & 15]);
  }
  return out;
}

std::string unhex(const std::string &s) {
  if (s == "-") return "";
  std::string out;
  for (size_t i = 0; i + 1 < s.size(); i += 2) out.push_back(static_cast<char>(std::stoi(s.substr(i, 2), nullptr, 16)));
  return out;
}

std::string pairsOut(const HeaderList &h) {
  std::string out = std::to_string(h.size());
  for (auto &[k, v] : h) out += " " + hex(k) + " " + hex(v);
  return out;
}

bool g_quiet = false; // while benchmarking: nothing is printed (nor formatted, see the fwd lines)
void emit(const std::string &line) {
  if (!g_quiet) std::cout << line << "\n";
}

// Metrics: one process-wide store of stats named wasmcustom.<name>, as Envoy's scope; each VM hands out
// its own ids (type in the low two bits, +4 per definition: envoy context.cc defineMetric).
struct Stat {
  uint32_t type;
  int64_t value = 0; // counter, gauge
  uint64_t count = 0, sum = 0; // histogram
};
std::map<std::string, Stat> g_stats;

// Envoy's Buffer wrapper (context.cc Buffer::copyFrom): replace from 0, or append at the end.
struct StringBuffer : BufferInterface {
  std::string *data = nullptr;
  size_t size() const override { return data ? data->size() : 0; }
  WasmResult copyTo(WasmBase *wasm, size_t start, size_t length, uint64_t ptr_ptr, uint64_t size_ptr) const override {
    if (!data) return WasmResult::NotFound;
    if (start > data->size() || length > data->size() - start) return WasmResult::InvalidMemoryAccess;
    if (!wasm->copyToPointerSize(std::string_view(*data).substr(start, length), ptr_ptr, size_ptr))
      return WasmResult::InvalidMemoryAccess;
    return WasmResult::Ok;
  }
  WasmResult copyFrom(size_t start, size_t length, std::string_view d) override {
    if (!data) return WasmResult::NotFound;
    if (start == 0) {
      data->erase(0, std::min(length, data->size()));
      data->insert(0, d);
      return WasmResult::Ok;
    }
    if (start >= data->size()) {
      data->append(d);
      return WasmResult::Ok;
    }
    return WasmResult::BadArgument;
  }
};

class HostWasm;

// One direction of Envoy's filter manager around this one filter: header map kept while the filter holds
// the headers, body buffered while it returns StopIterationAndBuffer.
struct Direction {
  std::optional<HeaderList> headers;
  std::optional<HeaderList> trailers;
  bool headers_forwarded = false;
  bool stopped_all = false; // StopAllIteration*: data is buffered without calling the filter
  bool buffering = false;
  bool eos = false;
  bool trailers_pending = false;
  std::string buffer;
  std::string chunk;
  std::string *body = nullptr; // what HttpRequestBody / HttpResponseBody reads during a body callback
};

class HostContext : public ContextBase {
public:
  using ContextBase::ContextBase;
  HostWasm *host() const;
  // PluginConfig.allow_on_headers_stop_iteration, as `aigw translate` writes it (Envoy >= 1.35).
  void allowOnHeadersStopIteration() { allow_on_headers_stop_iteration_ = true; }
  int sid = -1;
  std::string route_name, cluster_name;
  bool has_route = false;
  std::map<std::string, std::string> filter_state;
  Direction req, resp;
  bool replied = false;

  // GeneralInterface
  WasmResult log(uint32_t level, std::string_view message) override;
  uint32_t getLogLevel() override { return 2; } // info, Envoy's default
  uint64_t getCurrentTimeNanoseconds() override {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  }
  uint64_t getMonotonicTimeNanoseconds() override {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
  }
  std::string_view getConfiguration() override { return plugin_->plugin_configuration_; }
  WasmResult getProperty(std::string_view path, std::string *result) override;
  WasmResult setProperty(std::string_view key, std::string_view value) override {
    // envoy context.cc setProperty: filter state "wasm.<key>" (a stream's; root contexts have none).
    if (sid < 0) return WasmResult::NotFound;
    filter_state["wasm." + std::string(key)] = std::string(value);
    return WasmResult::Ok;
  }
  WasmResult setTimerPeriod(std::chrono::milliseconds period, uint32_t *token) override;

  // Buffers and header maps
  BufferInterface *getBuffer(WasmBufferType type) override;
  bool endOfStream(WasmStreamType type) override { return type == WasmStreamType::Request ? req.eos : resp.eos; }
  WasmResult addHeaderMapValue(WasmHeaderMapType type, std::string_view key, std::string_view value) override {
    auto *m = map(type, true);
    if (!m) return WasmResult::BadArgument;
    insert(*m, key, value);
    return WasmResult::Ok;
  }
  WasmResult getHeaderMapValue(WasmHeaderMapType type, std::string_view key, std::string_view *result) override {
    auto *m = map(type, false);
    if (!m) return WasmResult::BadArgument;
    for (auto &[k, v] : *m)
      if (k == key) {
        *result = v;
        return WasmResult::Ok;
      }
    return WasmResult::NotFound;
  }
  WasmResult getHeaderMapPairs(WasmHeaderMapType type, Pairs *result) override {
    auto *m = map(type, false);
    if (!m) return WasmResult::BadArgument;
    for (auto &[k, v] : *m) result->emplace_back(k, v);
    return WasmResult::Ok;
  }
  WasmResult setHeaderMapPairs(WasmHeaderMapType type, const Pairs &pairs) override {
    auto *m = map(type, true);
    if (!m) return WasmResult::BadArgument;
    m->clear();
    for (auto &[k, v] : pairs) m->emplace_back(k, v);
    return WasmResult::Ok;
  }
  WasmResult removeHeaderMapValue(WasmHeaderMapType type, std::string_view key) override {
    auto *m = map(type, false);
    if (!m) return WasmResult::BadArgument;
    std::erase_if(*m, [&](auto &p) { return p.first == key; });
    return WasmResult::Ok;
  }
  WasmResult replaceHeaderMapValue(WasmHeaderMapType type, std::string_view key, std::string_view value) override {
    // envoy context.cc: map->setCopy, which removes every entry of the key and adds one (at the end).
    auto *m = map(type, true);
    if (!m) return WasmResult::BadArgument;
    std::erase_if(*m, [&](auto &p) { return p.first == key; });
    insert(*m, key, value);
    return WasmResult::Ok;
  }
  WasmResult getHeaderMapSize(WasmHeaderMapType type, uint32_t *result) override {
    auto *m = map(type, false);
    if (!m) return WasmResult::BadArgument;
    size_t n = 0;
    for (auto &[k, v] : *m) n += k.size() + v.size();
    *result = static_cast<uint32_t>(n);
    return WasmResult::Ok;
  }

  // Stream control: deferred until the VM call returns (envoy context.cc addAfterVmCallAction).
  WasmResult sendLocalResponse(uint32_t code, std::string_view body, Pairs additional_headers, GrpcStatusCode grpc_status,
                               std::string_view details) override;
  WasmResult continueStream(WasmStreamType type) override;
  WasmResult closeStream(WasmStreamType type) override;
  void failStream(WasmStreamType) override;
  void clearRouteCache() override { emit("clear_route_cache " + std::to_string(sid)); }

  // Metrics
  WasmResult defineMetric(uint32_t type, std::string_view name, uint32_t *id) override;
  WasmResult incrementMetric(uint32_t id, int64_t offset) override;
  WasmResult recordMetric(uint32_t id, uint64_t value) override;
  WasmResult getMetric(uint32_t id, uint64_t *value) override;

  // Callouts go to the driver, which scripts the peer.
  WasmResult grpcCall(std::string_view service, std::string_view service_name, std::string_view method, const Pairs &,
                      std::string_view request, std::chrono::milliseconds timeout, GrpcToken *token) override;
  WasmResult grpcStream(std::string_view service, std::string_view service_name, std::string_view method, const Pairs &,
                        GrpcToken *token) override;
  WasmResult grpcSend(GrpcToken token, std::string_view message, bool end_stream) override;
  WasmResult grpcClose(GrpcToken token) override;
  WasmResult grpcCancel(GrpcToken token) override;
  WasmResult httpCall(std::string_view cluster, const Pairs &headers, std::string_view body, const Pairs &trailers,
                      int timeout_ms, HttpCallToken *token) override;

  // The data plane's side.
  void requestHeaders(HeaderList h, bool eos);
  void requestData(std::string d, bool eos);
  void requestTrailers(HeaderList t);
  void responseHeaders(HeaderList h, bool eos);
  void responseData(std::string d, bool eos);
  void responseTrailers(HeaderList t);
  void finish();

  // envoy context.cc getStatus: the status of the last gRPC close (or HTTP call failure) on this context.
  std::pair<uint32_t, std::string_view> getStatus() override {
    auto *root = rootOf();
    return {root->status_code, root->status_message};
  }
  // Callout results live on the root context, whichever context the module made effective (envoy
  // context.cc getBuffer/getMap: rootContext()->grpc_receive_buffer_, http_call_response_, ...).
  HostContext *rootOf() { return static_cast<HostContext *>(root_context()); }
  uint32_t status_code = 0;
  std::string status_message;
  std::string grpc_message; // GrpcReceiveBuffer while a gRPC callback runs
  std::optional<HeaderList> grpc_metadata; // GrpcReceive{Initial,Trailing}Metadata while its callback runs
  std::string http_body;    // HttpCallResponseBody
  std::optional<HeaderList> http_headers;

private:
  HeaderList *map(WasmHeaderMapType type, bool create);
  // Envoy's HeaderList::insert: pseudo-headers go after the last pseudo-header, the rest at the end.
  static void insert(HeaderList &m, std::string_view key, std::string_view value) {
    if (!key.starts_with(":")) {
      m.emplace_back(key, value);
      return;
    }
    auto it = m.begin();
    while (it != m.end() && it->first.starts_with(":")) ++it;
    m.emplace(it, key, value);
  }
  void ret(const char *callback, int status) { emit("ret " + std::to_string(sid) + " " + callback + " " + std::to_string(status)); }
  void forwardHeaders(bool request);
  void resume(bool request);
  StringBuffer body_view_, config_view_, grpc_view_, http_view_;
  std::string config_copy_;
};

class HostWasm : public WasmBase {
public:
  HostWasm(std::unique_ptr<WasmVm> vm, std::string_view vm_id, int index, std::unordered_map<std::string, std::string> envs)
      : WasmBase(std::move(vm), vm_id, "", vm_id, std::move(envs), {}), index(index) {}
  ContextBase *createRootContext(const std::shared_ptr<PluginBase> &plugin) override { return new HostContext(this, plugin); }
  ContextBase *createVmContext() override { return new HostContext(this); }
  void error(std::string_view message) override { emit("log " + std::to_string(index) + " 5 " + hex(message)); }
  const int index;
  std::map<uint32_t, std::string> metric_names;
  uint32_t next_id[3] = {0, 1, 2};
  std::chrono::milliseconds tick_period{0};
  uint32_t root_id = 0;
};

// Envoy's EnvoyWasmVmIntegration: VM errors (load failures, traps) go to the log at error level.
struct HostIntegration : WasmVmIntegration {
  explicit HostIntegration(int index) : index(index) {}
  WasmVmIntegration *clone() override { return new HostIntegration(index); }
  LogLevel getLogLevel() override { return LogLevel::info; }
  void error(std::string_view message) override { emit("log " + std::to_string(index) + " 4 " + hex(message)); }
  void trace(std::string_view) override {}
  bool getNullVmFunction(std::string_view, bool, int, NullPlugin *, void *) override { return false; }
  const int index;
};

std::unique_ptr<WasmVm> wamrVm(int index) {
  auto vm = createWamrVm();
  vm->integration().reset(new HostIntegration(index));
  return vm;
}

// Envoy (wasm.h nextGrpcCallId/nextGrpcStreamId/nextHttpCallId): gRPC call tokens odd, stream tokens even.
uint32_t g_next_grpc = 0, g_next_http = 0;
uint32_t nextGrpcCallToken() { return g_next_grpc += (g_next_grpc % 2 == 0) ? 1 : 2; }
uint32_t nextGrpcStreamToken() { return g_next_grpc += (g_next_grpc % 2 == 1) ? 1 : 2; }
// Callouts belong to the root context (envoy context.cc: the handlers deliver to root_context()); a stream
// closed locally stays until the peer closes it too, and then its close is delivered.
struct Callout {
  HostWasm *wasm;
  uint32_t root;
  bool local_closed = false, remote_closed = false;
};
std::map<uint32_t, Callout> g_callouts;

HostWasm *HostContext::host() const { return static_cast<HostWasm *>(wasm()); }

WasmResult HostContext::log(uint32_t level, std::string_view message) {
  emit("log " + std::to_string(host()->index) + " " + std::to_string(level) + " " + hex(message));
  return WasmResult::Ok;
}

WasmResult HostContext::getProperty(std::string_view path, std::string *result) {
  // Path segments are NUL-separated (envoy context.cc getProperty); NotFound when absent.
  auto root = dynamic_cast<HostContext *>(parent_context());
  if (path == "plugin_root_id") {
    *result = plugin_ ? plugin_->root_id_ : (root && root->plugin_ ? root->plugin_->root_id_ : "");
    return WasmResult::Ok;
  }
  if (path == "plugin_name" && plugin_) {
    *result = plugin_->name_;
    return WasmResult::Ok;
  }
  if (path == "plugin_vm_id" && plugin_) {
    *result = plugin_->vm_id_;
    return WasmResult::Ok;
  }
  if (has_route && path == std::string_view("xds\0route_name", 14)) {
    *result = route_name;
    return WasmResult::Ok;
  }
  if (has_route && path == std::string_view("xds\0cluster_name", 16)) {
    *result = cluster_name;
    return WasmResult::Ok;
  }
  return WasmResult::NotFound;
}

WasmResult HostContext::setTimerPeriod(std::chrono::milliseconds period, uint32_t *token) {
  host()->tick_period = period;
  host()->root_id = id();
  emit("tick_period " + std::to_string(host()->index) + " " + std::to_string(period.count()));
  if (token) *token = 0;
  return WasmResult::Ok;
}

HeaderList *HostContext::map(WasmHeaderMapType type, bool create) {
  std::optional<HeaderList> *m = nullptr;
  switch (type) {
  case WasmHeaderMapType::RequestHeaders: m = &req.headers; break;
  case WasmHeaderMapType::RequestTrailers:
    // envoy context.cc getMap: request trailers can be added from the last body callback.
    m = &req.trailers;
    if (!*m && create && req.eos && !req.trailers_pending) *m = HeaderList{};
    break;
  case WasmHeaderMapType::ResponseHeaders: m = &resp.headers; break;
  case WasmHeaderMapType::ResponseTrailers:
    m = &resp.trailers;
    if (!*m && create && resp.eos && !resp.trailers_pending) *m = HeaderList{};
    break;
  case WasmHeaderMapType::HttpCallResponseHeaders: m = &rootOf()->http_headers; break;
  case WasmHeaderMapType::GrpcReceiveInitialMetadata:
  case WasmHeaderMapType::GrpcReceiveTrailingMetadata: m = &rootOf()->grpc_metadata; break;
  default: return nullptr;
  }
  return *m ? &**m : nullptr;
}

BufferInterface *HostContext::getBuffer(WasmBufferType type) {
  auto &self = *this;
  switch (type) {
  // As context.cc's getBuffer: while the filter buffers, the decoding (encoding) buffer, also outside a body
  // callback (a gRPC callback, trailers); otherwise the current chunk, during its callback only.
  case WasmBufferType::HttpRequestBody: self.body_view_.data = req.body ? req.body : req.buffering ? &req.buffer : nullptr; return &body_view_;
  case WasmBufferType::HttpResponseBody: self.body_view_.data = resp.body ? resp.body : resp.buffering ? &resp.buffer : nullptr; return &body_view_;
  case WasmBufferType::PluginConfiguration: {
    auto p = plugin_ ? plugin_ : temp_plugin_;
    if (!p) return nullptr;
    self.config_copy_ = p->plugin_configuration_;
    self.config_view_.data = &self.config_copy_;
    return &config_view_;
  }
  case WasmBufferType::VmConfiguration:
    self.config_copy_.clear();
    self.config_view_.data = &self.config_copy_;
    return &config_view_;
  case WasmBufferType::GrpcReceiveBuffer: self.grpc_view_.data = &rootOf()->grpc_message; return &grpc_view_;
  case WasmBufferType::HttpCallResponseBody: self.http_view_.data = &rootOf()->http_body; return &http_view_;
  default: return nullptr;
  }
}

WasmResult HostContext::sendLocalResponse(uint32_t code, std::string_view body, Pairs additional_headers, GrpcStatusCode grpc_status,
                                          std::string_view details) {
  HeaderList headers;
  for (auto &[k, v] : additional_headers) {
    std::string name(k);
    for (auto &c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    headers.emplace_back(name, v); // Envoy's header maps hold lower-case names
  }
  std::string b(body), d(details);
  // envoy context.cc sendLocalResponse: after the VM call; through the encoder path of this filter.
  wasm()->addAfterVmCallAction([this, code, headers, b, d, grpc_status] {
    if (replied || resp.headers_forwarded) return;
    replied = true;
    req.headers.reset();
    emit("local_reply " + std::to_string(sid) + " " + std::to_string(code) + " " + hex(d) + " " + hex(b) + " " +
         std::to_string(grpc_status) + " " + pairsOut(headers));
    HeaderList h{{":status", std::to_string(code)}};
    h.insert(h.end(), headers.begin(), headers.end());
    h.emplace_back("content-length", std::to_string(b.size()));
    responseHeaders(h, b.empty());
    if (!b.empty()) responseData(b, true);
  });
  return WasmResult::Ok;
}

WasmResult HostContext::continueStream(WasmStreamType type) {
  bool request = type == WasmStreamType::Request;
  if (type != WasmStreamType::Request && type != WasmStreamType::Response) return WasmResult::BadArgument;
  wasm()->addAfterVmCallAction([this, request] { resume(request); });
  return WasmResult::Ok;
}

WasmResult HostContext::closeStream(WasmStreamType) {
  wasm()->addAfterVmCallAction([this] {
    if (replied) return;
    replied = true;
    emit("reset " + std::to_string(sid) + " " + hex("wasm_close_stream"));
  });
  return WasmResult::Ok;
}

void HostContext::failStream(WasmStreamType) {
  // envoy context.cc failStream: 503 wasm_fail_stream, gRPC Unavailable.
  sendLocalResponse(503, "", {}, 14 /* Unavailable */, "wasm_fail_stream");
}

WasmResult HostContext::defineMetric(uint32_t type, std::string_view name, uint32_t *id) {
  if (type > 2) return WasmResult::BadArgument;
  auto h = host();
  *id = (h->next_id[type] += 4);
  std::string full = "wasmcustom." + std::string(name);
  h->metric_names[*id] = full;
  g_stats.try_emplace(full, Stat{type});
  return WasmResult::Ok;
}

WasmResult HostContext::incrementMetric(uint32_t id, int64_t offset) {
  auto it = host()->metric_names.find(id);
  if ((id & 3) == 2) return WasmResult::BadArgument;
  if (it == host()->metric_names.end()) return WasmResult::NotFound;
  auto &s = g_stats[it->second];
  if ((id & 3) == 0) {
    if (offset <= 0) return WasmResult::BadArgument;
  }
  s.value += offset;
  return WasmResult::Ok;
}

WasmResult HostContext::recordMetric(uint32_t id, uint64_t value) {
  auto it = host()->metric_names.find(id);
  if (it == host()->metric_names.end()) return WasmResult::NotFound;
  auto &s = g_stats[it->second];
  switch (id & 3) {
  case 0: s.value += static_cast<int64_t>(value); break;
  case 1: s.value = static_cast<int64_t>(value); break;
  default: s.count++; s.sum += value;
  }
  return WasmResult::Ok;
}

WasmResult HostContext::getMetric(uint32_t id, uint64_t *value) {
  auto it = host()->metric_names.find(id);
  if (it == host()->metric_names.end()) return WasmResult::NotFound;
  if ((id & 3) == 2) return WasmResult::BadArgument;
  *value = static_cast<uint64_t>(g_stats[it->second].value);
  return WasmResult::Ok;
}

std::string pairsOf(const Pairs &p) {
  HeaderList h;
  for (auto &[k, v] : p) h.emplace_back(k, v);
  return pairsOut(h);
}

WasmResult HostContext::grpcCall(std::string_view service, std::string_view service_name, std::string_view method,
                                 const Pairs &metadata, std::string_view request, std::chrono::milliseconds timeout, GrpcToken *token) {
  *token = nextGrpcCallToken();
  g_callouts[*token] = {host(), root_context()->id()};
  emit("grpc_call " + std::to_string(host()->index) + " " + std::to_string(*token) + " " + hex(service) + " " + hex(service_name) + " " +
       hex(method) + " " + std::to_string(timeout.count()) + " " + hex(request) + " " + pairsOf(metadata));
  return WasmResult::Ok;
}

WasmResult HostContext::grpcStream(std::string_view service, std::string_view service_name, std::string_view method,
                                   const Pairs &metadata, GrpcToken *token) {
  *token = nextGrpcStreamToken();
  g_callouts[*token] = {host(), root_context()->id()};
  emit("grpc_stream " + std::to_string(host()->index) + " " + std::to_string(*token) + " " + hex(service) + " " + hex(service_name) + " " +
       hex(method) + " " + pairsOf(metadata));
  return WasmResult::Ok;
}

WasmResult HostContext::grpcSend(GrpcToken token, std::string_view message, bool end_stream) {
  if (!g_callouts.count(token)) return WasmResult::BadArgument;
  emit("grpc_send " + std::to_string(token) + " " + std::to_string(end_stream ? 1 : 0) + " " + hex(message));
  return WasmResult::Ok;
}

WasmResult HostContext::grpcClose(GrpcToken token) {
  auto it = g_callouts.find(token);
  if (it == g_callouts.end()) return WasmResult::NotFound;
  if (token % 2 == 1 || it->second.remote_closed) g_callouts.erase(it); // closing a unary call cancels it
  else it->second.local_closed = true;
  emit("grpc_close " + std::to_string(token));
  return WasmResult::Ok;
}

WasmResult HostContext::grpcCancel(GrpcToken token) {
  if (!g_callouts.erase(token)) return WasmResult::NotFound;
  emit("grpc_cancel " + std::to_string(token));
  return WasmResult::Ok;
}

WasmResult HostContext::httpCall(std::string_view cluster, const Pairs &headers, std::string_view body, const Pairs &, int timeout_ms,
                                 HttpCallToken *token) {
  *token = ++g_next_http;
  g_callouts[*token] = {host(), root_context()->id()};
  emit("http_call " + std::to_string(host()->index) + " " + std::to_string(*token) + " " + hex(cluster) + " " + std::to_string(timeout_ms) +
       " " + hex(body) + " " + pairsOf(headers));
  return WasmResult::Ok;
}

// --- The data plane: Envoy's filter manager for this one filter (envoy context.cc decodeHeaders/decodeData/...).

void HostContext::forwardHeaders(bool request) {
  auto &d = request ? req : resp;
  if (d.headers_forwarded) return;
  d.headers_forwarded = true;
  bool eos_now = d.eos && d.buffer.empty() && !d.trailers_pending && !d.trailers;
  if (!g_quiet) emit("fwd " + std::to_string(sid) + (request ? " req_headers " : " resp_headers ") + (eos_now ? "1 " : "0 ") +
       pairsOut(d.headers ? *d.headers : HeaderList{}));
  d.headers.reset(); // dropped once the filter let them go (envoy context.cc: request_headers_ = nullptr)
}

void HostContext::resume(bool request) {
  auto &d = request ? req : resp;
  if (replied && request) return;
  d.stopped_all = false;
  d.buffering = false;
  bool had_headers = d.headers_forwarded;
  forwardHeaders(request);
  if (!d.buffer.empty() || (d.eos && had_headers && !d.trailers_pending)) {
    if (!g_quiet) emit("fwd " + std::to_string(sid) + (request ? " req_data " : " resp_data ") + (d.eos && !d.trailers_pending ? "1 " : "0 ") + hex(d.buffer));
    d.buffer.clear();
  }
  if (d.trailers_pending && d.trailers) {
    if (!g_quiet) emit("fwd " + std::to_string(sid) + (request ? " req_trailers " : " resp_trailers ") + pairsOut(*d.trailers));
    d.trailers_pending = false;
  }
}

static bool headersContinue(FilterHeadersStatus s) { return s == FilterHeadersStatus::Continue; }

void HostContext::requestHeaders(HeaderList h, bool eos) {
  onCreate();
  req.headers = std::move(h);
  req.eos = eos;
  auto s = onRequestHeaders(static_cast<uint32_t>(req.headers->size()), eos);
  ret("on_request_headers", static_cast<int>(s));
  if (replied) return;
  if (headersContinue(s)) forwardHeaders(true);
  else req.stopped_all = s != FilterHeadersStatus::StopIteration;
}

void HostContext::requestData(std::string d, bool eos) {
  if (replied) return;
  req.eos = eos;
  if (req.stopped_all) {
    req.buffer += d;
    return;
  }
  // envoy filter manager: a filter that buffers sees the new chunk added to what is buffered.
  if (req.buffering) {
    req.buffer += d;
    req.body = &req.buffer;
  } else {
    req.chunk = std::move(d);
    req.body = &req.chunk;
  }
  auto s = onRequestBody(static_cast<uint32_t>(req.body->size()), eos);
  req.body = nullptr;
  ret("on_request_body", static_cast<int>(s));
  if (replied) return;
  if (!req.buffering) req.buffer = std::move(req.chunk); // what the filter manager holds from here on
  if (s == FilterDataStatus::Continue) {
    forwardHeaders(true);
    if (!g_quiet) emit("fwd " + std::to_string(sid) + " req_data " + (eos ? "1 " : "0 ") + hex(req.buffer));
    req.buffer.clear();
    req.buffering = false;
  } else {
    req.buffering = s == FilterDataStatus::StopIterationAndBuffer || s == FilterDataStatus::StopIterationAndWatermark;
  }
}

void HostContext::requestTrailers(HeaderList t) {
  if (replied) return;
  req.trailers = std::move(t);
  req.trailers_pending = true;
  if (req.stopped_all) return;
  auto s = onRequestTrailers(static_cast<uint32_t>(req.trailers->size()));
  ret("on_request_trailers", static_cast<int>(s));
  if (replied) return;
  if (s == FilterTrailersStatus::Continue) resume(true);
}

void HostContext::responseHeaders(HeaderList h, bool eos) {
  resp.headers = std::move(h);
  resp.eos = eos;
  auto s = onResponseHeaders(static_cast<uint32_t>(resp.headers->size()), eos);
  ret("on_response_headers", static_cast<int>(s));
  if (headersContinue(s)) forwardHeaders(false);
  else resp.stopped_all = s != FilterHeadersStatus::StopIteration;
}

void HostContext::responseData(std::string d, bool eos) {
  resp.eos = eos;
  if (resp.stopped_all) {
    resp.buffer += d;
    return;
  }
  if (resp.buffering) {
    resp.buffer += d;
    resp.body = &resp.buffer;
  } else {
    resp.chunk = std::move(d);
    resp.body = &resp.chunk;
  }
  auto s = onResponseBody(static_cast<uint32_t>(resp.body->size()), eos);
  resp.body = nullptr;
  ret("on_response_body", static_cast<int>(s));
  if (s == FilterDataStatus::Continue) {
    if (!resp.buffering) resp.buffer = std::move(resp.chunk);
    forwardHeaders(false);
    if (!g_quiet) emit("fwd " + std::to_string(sid) + " resp_data " + (eos ? "1 " : "0 ") + hex(resp.buffer));
    resp.buffer.clear();
    resp.buffering = false;
  } else {
    if (!resp.buffering) resp.buffer = std::move(resp.chunk);
    resp.buffering = s == FilterDataStatus::StopIterationAndBuffer || s == FilterDataStatus::StopIterationAndWatermark;
  }
}

void HostContext::responseTrailers(HeaderList t) {
  resp.trailers = std::move(t);
  resp.trailers_pending = true;
  if (resp.stopped_all) return;
  auto s = onResponseTrailers(static_cast<uint32_t>(resp.trailers->size()));
  ret("on_response_trailers", static_cast<int>(s));
  if (s == FilterTrailersStatus::Continue) resume(false);
}

void HostContext::finish() {
  // envoy: the HTTP connection manager logs, then destroys the filters (onLog, onDone, onDelete).
  onLog();
  onDone();
  onDelete();
  for (auto &[k, v] : filter_state) emit("filter_state " + std::to_string(sid) + " " + hex(k) + " " + hex(v));
}

// clear_route_cache as Envoy registers it (envoy source/extensions/common/wasm/foreign.cc).
RegisterForeignFunction registerClearRouteCache("clear_route_cache", [](WasmBase &, std::string_view, const std::function<void *(size_t)> &) {
  auto *context = dynamic_cast<HostContext *>(contextOrEffectiveContext());
  if (!context) return WasmResult::BadArgument;
  context->clearRouteCache();
  return WasmResult::Ok;
});

HeaderList readPairs(std::istringstream &in) {
  size_t n = 0;
  in >> n;
  HeaderList h;
  for (size_t i = 0; i < n; i++) {
    std::string k, v;
    in >> k >> v;
    h.emplace_back(unhex(k), unhex(v));
  }
  return h;
}

} // namespace

int main(int argc, char **argv) {
  std::ios::sync_with_stdio(false);
  if (argc != 6 && argc != 7) {
    std::cerr << "usage: " << argv[0] << " MODULE PLUGIN_CONFIG_FILE VM_ID ROOT_ID VMS [HOST_ENV_KEYS]\n";
    return 2;
  }
  // Envoy's vm_config.environment_variables.host_env_keys: these variables of the host process (comma-separated).
  std::unordered_map<std::string, std::string> envs;
  if (argc == 7) {
    std::stringstream keys(argv[6]);
    for (std::string key; std::getline(keys, key, ',');) {
      if (const char *value = std::getenv(key.c_str())) envs[key] = value;
    }
  }
  auto readFile = [](const char *path) {
    std::ifstream f(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(f), {});
  };
  std::string code = readFile(argv[1]);
  std::string configuration = readFile(argv[2]);
  std::string vm_id = argv[3], root_id = argv[4];
  int vms = std::stoi(argv[5]);
  auto plugin = std::make_shared<PluginBase>("ai-gateway", root_id, vm_id, "wamr", configuration, false, "");

  struct Vm {
    std::shared_ptr<HostWasm> wasm;
    std::shared_ptr<PluginHandleBase> handle;
    HostContext *root = nullptr;
  };
  std::vector<Vm> workers;
  for (int i = 0; i < vms; i++) {
    auto wasm = std::make_shared<HostWasm>(wamrVm(i), vm_id, i, envs);
    // Envoy (wasm.cc createWasm): load, initialize (ABI detection, imports, _start), then the root context.
    if (!wasm->load(code, false) || !wasm->initialize()) {
      // Envoy would not start; the host stays up so that the driver can read why.
      emit("load_failed " + std::to_string(i));
      continue;
    }
    auto *root = static_cast<HostContext *>(wasm->start(plugin));
    bool ok = root && wasm->configure(root, plugin);
    emit(std::string("started ") + std::to_string(i) + " " + (ok ? "1" : "0"));
    auto handle = std::make_shared<PluginHandleBase>(std::make_shared<WasmHandleBase>(wasm), plugin);
    workers.push_back({wasm, handle, root});
  }
  emit("done");
  std::cout.flush();

  std::map<int, std::unique_ptr<HostContext>> streams;
  std::string line;
  while (std::getline(std::cin, line)) {
    std::istringstream in(line);
    std::string cmd;
    in >> cmd;
    if (cmd == "quit") break;
    if (cmd == "stream") {
      int sid, vm;
      std::string route, cluster;
      in >> sid >> vm >> route >> cluster;
      auto &w = workers.at(vm);
      auto ctx = std::make_unique<HostContext>(w.wasm.get(), w.root->id(), w.handle);
      ctx->sid = sid;
      ctx->allowOnHeadersStopIteration();
      if (route != "none") {
        ctx->has_route = true;
        ctx->route_name = unhex(route);
        ctx->cluster_name = unhex(cluster);
      }
      streams[sid] = std::move(ctx);
    } else if (cmd == "req_headers" || cmd == "resp_headers") {
      int sid, eos;
      in >> sid >> eos;
      auto h = readPairs(in);
      auto &s = *streams.at(sid);
      cmd == "req_headers" ? s.requestHeaders(h, eos) : s.responseHeaders(h, eos);
    } else if (cmd == "req_data" || cmd == "resp_data") {
      int sid, eos;
      std::string data;
      in >> sid >> eos >> data;
      auto &s = *streams.at(sid);
      cmd == "req_data" ? s.requestData(unhex(data), eos) : s.responseData(unhex(data), eos);
    } else if (cmd == "req_trailers" || cmd == "resp_trailers") {
      int sid;
      in >> sid;
      auto t = readPairs(in);
      auto &s = *streams.at(sid);
      cmd == "req_trailers" ? s.requestTrailers(t) : s.responseTrailers(t);
    } else if (cmd == "end") {
      int sid;
      in >> sid;
      streams.at(sid)->finish();
      streams.erase(sid);
    } else if (cmd == "tick") {
      int vm;
      in >> vm;
      auto &w = workers.at(vm);
      if (w.wasm->tick_period.count() > 0) w.root->onTick(0);
    } else if (cmd == "grpc_message" || cmd == "grpc_close" || cmd == "grpc_metadata" || cmd == "http_response") {
      uint32_t token;
      in >> token;
      auto it = g_callouts.find(token);
      if (it != g_callouts.end()) { // else cancelled: Envoy drops what arrives for it
        auto *ctx = static_cast<HostContext *>(it->second.wasm->getContext(it->second.root));
        if (cmd == "grpc_metadata") {
          std::string which;
          in >> which;
          ctx->grpc_metadata = readPairs(in);
          auto n = static_cast<uint32_t>(ctx->grpc_metadata->size());
          which == "initial" ? ctx->onGrpcReceiveInitialMetadata(token, n) : ctx->onGrpcReceiveTrailingMetadata(token, n);
          ctx->grpc_metadata.reset();
        } else if (cmd == "grpc_message") {
          std::string msg;
          in >> msg;
          ctx->grpc_message = unhex(msg);
          if (token % 2 == 1) g_callouts.erase(it); // a unary call ends with its answer
          ctx->onGrpcReceive(token, static_cast<uint32_t>(ctx->grpc_message.size()));
        } else if (cmd == "grpc_close") {
          int status;
          std::string message;
          in >> status >> message;
          if (token % 2 == 1 || it->second.local_closed) g_callouts.erase(it);
          else it->second.remote_closed = true;
          ctx->status_code = static_cast<uint32_t>(status);
          ctx->status_message = unhex(message);
          ctx->onGrpcClose(token, static_cast<GrpcStatusCode>(status));
        } else {
          std::string body;
          in >> body;
          ctx->http_headers = readPairs(in);
          ctx->http_body = unhex(body);
          g_callouts.erase(token);
          ctx->onHttpCallResponse(token, static_cast<uint32_t>(ctx->http_headers->size()), static_cast<uint32_t>(ctx->http_body.size()), 0);
        }
      }
    } else if (cmd == "bench") {
      // bench N PATH BODY RESPONSE: N streams on VM 0 (request headers + body, JSON response, end), the
      // process CPU per stream in µs; outputs are not printed meanwhile.
      int n;
      std::string path, body, response;
      in >> n >> path >> body >> response;
      HeaderList req{{":method", "POST"}, {":path", unhex(path)}, {":authority", "gw"}, {":scheme", "http"},
                     {"content-type", "application/json"}};
      std::string b = unhex(body), r = unhex(response);
      req.emplace_back("content-length", std::to_string(b.size()));
      HeaderList resp{{":status", "200"}, {"content-type", "application/json"}, {"content-length", std::to_string(r.size())}};
      auto &w = workers.at(0);
      g_quiet = true;
      timespec t0{}, t1{};
      clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t0);
      for (int i = 0; i < n; i++) {
        HostContext ctx(w.wasm.get(), w.root->id(), w.handle);
        ctx.sid = 0;
        ctx.allowOnHeadersStopIteration();
        ctx.requestHeaders(req, false);
        ctx.requestData(b, true);
        ctx.responseHeaders(resp, false);
        ctx.responseData(r, true);
        ctx.finish();
      }
      clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t1);
      g_quiet = false;
      double us = ((t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec)) / 1e3 / n;
      emit("bench " + std::to_string(us));
    } else if (cmd == "metrics") {
      for (auto &[name, s] : g_stats)
        emit("metric " + hex(name) + " " + std::to_string(s.type) + " " + std::to_string(s.type == 2 ? s.count : s.value) + " " +
             std::to_string(s.sum));
    } else {
      emit("error " + hex("unknown command " + cmd));
    }
    emit("done");
    std::cout.flush();
  }
  return 0;
}
