// zap-style logging as the EPP does it through controller-runtime: `--v N` enables logger.V(n) lines with n <= N,
// `--zap-encoder json|console` picks the line format. Errors are always written.

/** GIE's verbosity levels (pkg/epp/util/logging). */
export const V = { DEFAULT: 2, VERBOSE: 3, DEBUG: 4, TRACE: 5 } as const;

export type Fields = Record<string, unknown>;

export interface LoggerOptions {
  verbosity: number;
  encoder: "json" | "console";
  timeEncoding: "rfc3339" | "rfc3339nano" | "iso8601" | "epoch" | "millis" | "nano";
  sink: (line: string) => void;
}

export class Logger {
  constructor(
    private readonly opts: LoggerOptions,
    private readonly name = "",
  ) {}

  withName(name: string): Logger {
    return new Logger(this.opts, this.name ? `${this.name}.${name}` : name);
  }

  enabled(v: number): boolean {
    return v <= this.opts.verbosity;
  }

  info(v: number, msg: string, fields?: Fields): void {
    if (this.enabled(v)) this.write(levelName(v), msg, fields);
  }

  error(msg: string, err?: unknown, fields?: Fields): void {
    const all: Fields = { ...fields };
    if (err !== undefined) all.error = err instanceof Error ? err.message : String(err);
    this.write("error", msg, all);
  }

  private write(level: string, msg: string, fields: Fields = {}): void {
    const ts = this.timestamp();
    if (this.opts.encoder === "json") {
      const rec: Fields = { level, ts };
      if (this.name) rec.logger = this.name;
      rec.msg = msg;
      this.opts.sink(JSON.stringify({ ...rec, ...fields }, jsonSafe));
    } else {
      const parts = [String(ts), level.toUpperCase()];
      if (this.name) parts.push(this.name);
      parts.push(msg);
      if (Object.keys(fields).length) parts.push(JSON.stringify(fields, jsonSafe));
      this.opts.sink(parts.join("\t"));
    }
  }

  private timestamp(): string | number {
    const now = Date.now();
    switch (this.opts.timeEncoding) {
      case "epoch":
        return now / 1000;
      case "millis":
        return now;
      case "nano":
        return now * 1e6;
      case "iso8601":
        return new Date(now).toISOString().replace("Z", "+0000");
      default:
        return new Date(now).toISOString().replace(/\.\d{3}Z$/, this.opts.timeEncoding === "rfc3339nano" ? (m) => m : () => "Z");
    }
  }
}

// zapr maps logr's V(n) to zap level -n; zap names level 0 "info", -1 "debug", lower ones "Level(-n)".
function levelName(v: number): string {
  if (v <= 0) return "info";
  if (v === 1) return "debug";
  return `Level(${-v})`;
}

function jsonSafe(_k: string, v: unknown): unknown {
  return typeof v === "bigint" ? v.toString() : v;
}
