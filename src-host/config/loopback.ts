// `aigw run` serves one machine: every address a manifest declares must be an IPv4 loopback address
// (127.0.0.0/8, all of it bindable on Linux). Materialized pods get their own address in 127.10.0.0/16.

export function isLoopbackIPv4(address: string): boolean {
  const m = /^127\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(address);
  return m !== null && m.slice(1).every((p) => Number(p) <= 255 && (p === "0" || !p.startsWith("0")));
}

/** Why `address` is refused, or undefined when it is a loopback address. */
export function loopbackProblem(address: string): string | undefined {
  if (isLoopbackIPv4(address)) return undefined;
  return `address "${address}" is not an IPv4 loopback address (127.0.0.0/8); aigw run serves only this machine`;
}

export const MAX_MATERIALIZED_OWNERS = 255;
export const MAX_REPLICAS = 254;

/** Address of replica `replica` (0-based) of the `owner`-th (1-based) materialized Deployment or Pod. */
export function podAddress(owner: number, replica: number): string {
  if (owner < 1 || owner > MAX_MATERIALIZED_OWNERS) throw new RangeError(`owner index ${owner} out of range`);
  if (replica < 0 || replica >= MAX_REPLICAS) throw new RangeError(`replica index ${replica} out of range`);
  return `127.10.${owner}.${replica + 1}`;
}
