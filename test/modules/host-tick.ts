// Ticks: each root context asks for a 10 ms tick at configure, logs three ticks, then stops its timer.
import { log, proxy_set_tick_period_milliseconds } from "./host-common/abi";
export { malloc } from "./host-common/abi";

export function proxy_abi_version_0_2_1(): void {}

let ticks = 0;

export function proxy_on_configure(root: u32, size: u32): bool {
  proxy_set_tick_period_milliseconds(10);
  return true;
}

export function proxy_on_tick(root: u32): void {
  ticks++;
  log("tick " + root.toString() + " " + ticks.toString());
  if (ticks == 3) proxy_set_tick_period_milliseconds(0);
}
