// Every configuration problem is collected (not thrown one by one) so that a user sees all of them at start,
// each naming the file, the object and the field: "envoy/x.yaml: AIGatewayRoute default/r: spec.rules[2]: …".

import type { AppliedObject } from "./objects.js";
import { describeObject } from "./objects.js";

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.length === 1 ? `invalid configuration: ${problems[0]}` : `invalid configuration (${problems.length} problems):\n  ${problems.join("\n  ")}`);
    this.name = "ConfigError";
  }
}

export class Problems {
  readonly errors: string[] = [];
  readonly warnings: string[] = [];

  /** A problem in a file that is not tied to one object (unreadable file, malformed YAML). */
  fileError(file: string, message: string): void {
    this.errors.push(`${file}: ${message}`);
  }

  error(obj: AppliedObject, field: string, message: string): void {
    this.errors.push(locate(obj, field, message));
  }

  warn(obj: AppliedObject, field: string, message: string): void {
    this.warnings.push(locate(obj, field, message));
  }

  /** A problem of the configuration as a whole (e.g. no Gateway at all). */
  global(message: string): void {
    this.errors.push(message);
  }

  throwIfAny(): void {
    if (this.errors.length > 0) throw new ConfigError([...this.errors]);
  }
}

function locate(obj: AppliedObject, field: string, message: string): string {
  return `${obj.source}: ${describeObject(obj)}: ${field ? `${field}: ` : ""}${message}`;
}
