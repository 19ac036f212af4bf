/** A configuration variable that is missing or malformed. The message names the variable. */
export class ConfigError extends Error {
  override name = "ConfigError";
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(`${variable}: ${message}`);
  }
}

type Env = Readonly<Record<string, string | undefined>>;

/**
 * Reads configuration from the environment once, at start-up, and fails fast naming the variable.
 *
 * @example
 *   const env = new EnvReader(process.env);
 *   const config = { port: env.port("ROUTER_ADDR", "127.0.0.1:50071"), workers: env.list("ROUTER_WORKER_ADDRS") };
 */
export class EnvReader {
  constructor(private readonly env: Env = process.env) {}

  /** A required string (blank counts as unset); `fallback` makes it optional. */
  string(name: string, fallback?: string): string {
    const v = this.env[name];
    if (v === undefined || v.trim() === "") {
      if (fallback !== undefined) return fallback;
      throw new ConfigError(name, "is required but not set");
    }
    return v;
  }

  /** An integer within [min, max]. */
  int(name: string, fallback: number, min = 0, max = Number.MAX_SAFE_INTEGER): number {
    const raw = this.env[name];
    if (raw === undefined || raw === "") return fallback;
    const v = Number(raw);
    if (!Number.isInteger(v) || v < min || v > max) {
      throw new ConfigError(name, `must be an integer in [${min}, ${max}], got ${JSON.stringify(raw)}`);
    }
    return v;
  }

  /** A number in [0, 1] (a rate, a share, a band). */
  fraction(name: string, fallback: number): number {
    const raw = this.string(name, String(fallback));
    const v = Number(raw);
    if (!Number.isFinite(v) || v < 0 || v > 1)
      throw new ConfigError(name, `must be a number in [0, 1], got ${JSON.stringify(raw)}`);
    return v;
  }

  /** A "host:port" listen or dial address (port 0 lets the OS pick). */
  address(name: string, fallback?: string): string {
    const v = this.string(name, fallback);
    const m = /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(v);
    if (!m || Number(m[2]) > 65535) throw new ConfigError(name, `must be host:port, got ${JSON.stringify(v)}`);
    return v;
  }

  /**
   * A peer to dial: "host:port"; "dns:///host:port" to balance calls round-robin over every address the name
   * resolves to (a Kubernetes headless Service: one address per ready replica, re-resolved as they come and go);
   * or "ipv4:ip:port,ip:port,…", a fixed set of replicas, balanced the same way (the local launcher's replicas).
   */
  target(name: string, fallback?: string): string {
    const v = this.string(name, fallback);
    const scheme = /^(dns:\/\/\/|ipv4:)(.+)$/.exec(v);
    if (!scheme) return this.address(name, fallback);
    const addresses = scheme[1] === "ipv4:" ? scheme[2]!.split(",") : [scheme[2]!];
    for (const a of addresses) new EnvReader({ [name]: a }).address(name);
    if (scheme[1] === "ipv4:" && !addresses.every((a) => /^\d+\.\d+\.\d+\.\d+:/.test(a)))
      throw new ConfigError(name, `ipv4: lists IPv4 addresses only, got ${JSON.stringify(v)}`);
    return v;
  }

  /**
   * A comma-separated list of "host:port" addresses, at least one, each once. Required unless `fallback` is given:
   * peer addresses take none, so a deployment that forgets one stops rather than dialling localhost.
   */
  addresses(name: string, fallback?: string): string[] {
    if (fallback === undefined) this.string(name); // unset: "is required but not set"
    const list = this.list(name, fallback);
    if (list.length === 0) throw new ConfigError(name, "must list at least one host:port");
    for (const a of list) new EnvReader({ [name]: a }).address(name);
    return list;
  }

  /**
   * A comma-separated list (spaces around entries ignored); [] when unset. An empty entry ("a,,b", "a,") or one
   * given twice is an error: both are typos, never what was meant.
   */
  list(name: string, fallback?: string): string[] {
    const raw = this.optional(name) ?? fallback;
    if (raw === undefined) return [];
    const list = raw.split(",").map((s) => s.trim());
    if (list.some((s) => s === "")) throw new ConfigError(name, `has an empty entry in ${JSON.stringify(raw)}`);
    const twice = list.find((s, i) => list.indexOf(s) !== i);
    if (twice !== undefined) throw new ConfigError(name, `lists ${JSON.stringify(twice)} twice`);
    return list;
  }

  /** An optional string: undefined when unset, empty or only spaces; otherwise the value without surrounding spaces. */
  optional(name: string): string | undefined {
    const v = this.env[name]?.trim();
    return v ? v : undefined;
  }

  /** One of a fixed set of values. */
  oneOf<T extends string>(name: string, values: readonly T[], fallback: T): T {
    const v = this.string(name, fallback);
    if (!(values as readonly string[]).includes(v)) {
      throw new ConfigError(name, `must be one of ${values.join(", ")}, got ${JSON.stringify(v)}`);
    }
    return v as T;
  }
}
