// `aigw run` serves one machine: every address a manifest declares must be an IPv4 loopback address
// (127.0.0.0/8, all of it bindable on Linux). Materialized pods get their own address in a /16 block,
// 127.<block>.0.0/16 (default block 10), so that several aigw run on one machine can each have their own.

export function isLoopbackIPv4(address: string): boolean {
  const m = /^127\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(address);
  return m?.slice(1).every((p) => Number(p) <= 255 && (p === "0" || !p.startsWith("0"))) ?? false;
}

/** Why `address` is refused, or undefined when it is a loopback address. */
export function loopbackProblem(address: string): string | undefined {
  if (isLoopbackIPv4(address)) return undefined;
  return `address "${address}" is not an IPv4 loopback address (127.0.0.0/8); aigw run serves only this machine`;
}

export const MAX_MATERIALIZED_OWNERS = 255;
/** The pod address block of an aigw run that does not choose one: 127.10.0.0/16. */
export const DEFAULT_POD_BLOCK = 10;
/** Blocks are 1–255: 127.0.0.0/16 holds 127.0.0.1, where the gateway's own listeners are. */
export const MAX_POD_BLOCK = 255;
export const MAX_REPLICAS = 254;

/**
 * Address of replica `replica` (0-based) of the `owner`-th (1-based) materialized Deployment or Pod in pod
 * block `block`; owner 0 is the embedded rate limit service's.
 */
export function podAddress(owner: number, replica: number, block = DEFAULT_POD_BLOCK): string {
  if (owner < 0 || owner > MAX_MATERIALIZED_OWNERS) throw new RangeError(`owner index ${owner} out of range`);
  if (replica < 0 || replica >= MAX_REPLICAS) throw new RangeError(`replica index ${replica} out of range`);
  if (!Number.isInteger(block) || block < 1 || block > MAX_POD_BLOCK) throw new RangeError(`pod block ${block} out of range`);
  return `127.${block}.${owner}.${replica + 1}`;
}
