// gRPC callouts over a real client (@grpc/grpc-js with identity serializers): messages cross the ABI
// unframed, grpc-js adds and strips the 5-byte frame. One channel per endpoint (and TLS setting).
//
// Connections as Envoy's gRPC async client makes them: it takes its HTTP/2 connection from the cluster's
// connection pool, which connects on demand when a stream needs one and has no reconnect backoff (a stream
// that finds no connection starts an attempt and fails only if that attempt fails). grpc-js instead backs
// off after a failed connection (1 s, growing) and fails every call meanwhile without trying, so a peer
// that comes back stays unreachable for seconds. A channel found in TRANSIENT_FAILURE is therefore replaced
// by a fresh one (its own subchannel), which connects for the call at hand.
import * as grpc from "@grpc/grpc-js";
import type { ClusterConfig, ClusterEndpoint } from "../../dataplane-api/bootstrap.js";
import type { HeaderList } from "../../dataplane-api/http-filter.js";
import { hostPort } from "./endpoints.js";

export interface GrpcTarget {
  cluster: ClusterConfig;
  endpoint: ClusterEndpoint | undefined;
  authority?: string;
}

export interface GrpcUnaryHandlers {
  onMessage(message: Uint8Array): void;
  onClose(status: number, message: string): void;
}

export interface GrpcStreamHandlers {
  onInitialMetadata(md: HeaderList): void;
  onMessage(message: Uint8Array): void;
  onTrailingMetadata(md: HeaderList): void;
  onClose(status: number, message: string): void;
}

export interface GrpcStreamHandle {
  send(message: Uint8Array, endStream: boolean): void;
  /** Half-close: no more messages from us. */
  close(): void;
  cancel(): void;
}

const identity = (b: Buffer) => b;
const RESERVED = new Set(["content-type", "te", "user-agent", "grpc-timeout", "grpc-encoding", "grpc-accept-encoding", "content-length", "host"]);

function toMetadata(pairs: HeaderList): grpc.Metadata {
  const md = new grpc.Metadata();
  for (const [k, v] of pairs) {
    if (k.startsWith(":") || RESERVED.has(k)) continue;
    if (k.endsWith("-bin")) md.add(k, Buffer.from(v, "base64"));
    else md.add(k, v);
  }
  return md;
}

function fromMetadata(md: grpc.Metadata | undefined): HeaderList {
  const out: HeaderList = [];
  if (!md) return out;
  for (const [k, v] of Object.entries(md.toHttp2Headers())) {
    if (v === undefined) continue;
    for (const x of Array.isArray(v) ? v : [v]) out.push([k, String(x)]);
  }
  return out;
}

/** grpc-js reports "OK" as the details of a clean close; on the wire there is no grpc-message. */
const statusDetails = (s: { code: number; details?: string }): string => (s.code === grpc.status.OK && s.details === "OK" ? "" : (s.details ?? ""));

export class GrpcClients {
  private readonly clients = new Map<string, grpc.Client>();

  private client(target: GrpcTarget, endpoint: ClusterEndpoint): grpc.Client {
    const tls = target.cluster.tls;
    const key = `${hostPort(endpoint)}|${tls ? `tls:${tls.insecureSkipVerify}:${tls.sni ?? ""}` : "plain"}|${target.authority ?? ""}`;
    let c = this.clients.get(key);
    if (c && c.getChannel().getConnectivityState(false) === grpc.connectivityState.TRANSIENT_FAILURE) {
      c.close();
      c = undefined;
    }
    if (!c) {
      const creds = tls
        ? grpc.credentials.createSsl(null, null, null, {
            rejectUnauthorized: !tls.insecureSkipVerify,
            checkServerIdentity: tls.insecureSkipVerify ? () => undefined : undefined,
          })
        : grpc.credentials.createInsecure();
      const options: grpc.ChannelOptions = { "grpc.use_local_subchannel_pool": 1 };
      if (tls?.sni) options["grpc.ssl_target_name_override"] = tls.sni;
      if (target.authority) options["grpc.default_authority"] = target.authority;
      c = new grpc.Client(hostPort(endpoint), creds, options);
      this.clients.set(key, c);
    }
    return c;
  }

  /** A precondition Envoy's cluster would fail on (no endpoint, not HTTP/2), as (status, message). */
  private refuse(target: GrpcTarget): [number, string] | undefined {
    if (!target.endpoint) return [grpc.status.UNAVAILABLE, "no healthy upstream"];
    if (!target.cluster.http2) {
      // Envoy sends gRPC over HTTP/1.1 to such a cluster and maps the upstream's 400 to Internal.
      return [grpc.status.INTERNAL, `cluster ${target.cluster.name} does not speak HTTP/2`];
    }
    return undefined;
  }

  unary(target: GrpcTarget, path: string, metadata: HeaderList, message: Uint8Array, timeoutMs: number, h: GrpcUnaryHandlers) {
    const refused = this.refuse(target);
    if (refused) {
      const t = setImmediate(() => h.onClose(...refused));
      return { cancel: () => clearImmediate(t) };
    }
    const options: grpc.CallOptions = timeoutMs > 0 ? { deadline: Date.now() + timeoutMs } : {};
    const call = this.client(target, target.endpoint!).makeUnaryRequest(
      path,
      identity,
      identity,
      Buffer.from(message),
      toMetadata(metadata),
      options,
      (err, value) => {
        if (err) h.onClose(err.code ?? grpc.status.UNKNOWN, statusDetails(err));
        else h.onMessage(value ?? new Uint8Array(0));
      },
    );
    return { cancel: () => call.cancel() };
  }

  stream(target: GrpcTarget, path: string, metadata: HeaderList, h: GrpcStreamHandlers): GrpcStreamHandle {
    const refused = this.refuse(target);
    if (refused) {
      const t = setImmediate(() => h.onClose(...refused));
      return { send() {}, close() {}, cancel: () => clearImmediate(t) };
    }
    const call = this.client(target, target.endpoint!).makeBidiStreamRequest(path, identity, identity, toMetadata(metadata));
    let sawMetadata = false;
    call.on("metadata", (md: grpc.Metadata) => {
      sawMetadata = true;
      h.onInitialMetadata(fromMetadata(md));
    });
    call.on("data", (m: Buffer) => h.onMessage(m));
    call.on("error", () => {}); // the status event carries the outcome
    call.on("status", (s: grpc.StatusObject) => {
      const details = statusDetails(s);
      // Trailing metadata only when the server answered (not for a connection that never came up).
      const answered = sawMetadata || Object.keys(s.metadata.getMap()).length > 0;
      if (answered) {
        const trailers: HeaderList = [["grpc-status", String(s.code)]];
        if (details) trailers.push(["grpc-message", details]);
        h.onTrailingMetadata([...trailers, ...fromMetadata(s.metadata)]);
      }
      h.onClose(s.code, details);
    });
    let ended = false;
    return {
      send: (message, endStream) => {
        if (ended) return;
        call.write(Buffer.from(message));
        if (endStream) {
          ended = true;
          call.end();
        }
      },
      close: () => {
        if (!ended) {
          ended = true;
          call.end();
        }
      },
      cancel: () => call.cancel(),
    };
  }

  close(): void {
    for (const c of this.clients.values()) c.close();
    this.clients.clear();
  }
}
