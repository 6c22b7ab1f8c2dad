// A filter that continues everything and calls no host function: the host's own cost per stream, the floor
// the filter-through-host benchmark measures the production module against.
export { malloc } from "./host-common/abi";

export function proxy_abi_version_0_2_1(): void {}
export function proxy_on_context_create(ctx: u32, parent: u32): void {}
export function proxy_on_vm_start(root: u32, size: u32): bool { return true; }
export function proxy_on_configure(root: u32, size: u32): bool { return true; }
export function proxy_on_request_headers(ctx: u32, n: u32, eos: u32): i32 { return 0; }
export function proxy_on_request_body(ctx: u32, size: u32, eos: u32): i32 { return 0; }
export function proxy_on_response_headers(ctx: u32, n: u32, eos: u32): i32 { return 0; }
export function proxy_on_response_body(ctx: u32, size: u32, eos: u32): i32 { return 0; }
export function proxy_on_log(ctx: u32): void {}
export function proxy_on_done(ctx: u32): bool { return true; }
export function proxy_on_delete(ctx: u32): void {}
