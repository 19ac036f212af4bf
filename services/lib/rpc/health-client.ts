import * as grpc from "@grpc/grpc-js";
import { service as healthService } from "grpc-health-check";
import { tlsChannelOptions } from "./tls-credentials.js";

const HealthClient = grpc.makeGenericClientConstructor(healthService, "Health");

export type ServingStatus = "UNKNOWN" | "SERVING" | "NOT_SERVING" | "SERVICE_UNKNOWN" | "UNREACHABLE";

/**
 * A grpc.health.v1 client for one address.
 *
 * @example
 *   const h = new HealthProbe("127.0.0.1:50071", tls.channel());
 *   if ((await h.check()) === "SERVING") { ... }
 */
export class HealthProbe {
  private readonly client: grpc.Client & Record<string, unknown>;

  constructor(
    readonly address: string,
    credentials: grpc.ChannelCredentials,
  ) {
    this.client = new HealthClient(address, credentials, tlsChannelOptions(address, credentials));
  }

  /** The status of `service` ("" for the whole server); UNREACHABLE when the call fails. */
  check(service = "", timeoutMs = 1000): Promise<ServingStatus> {
    return new Promise((resolve) => {
      const check = (this.client as unknown as Record<string, (...a: unknown[]) => void>)["Check"]!;
      check.call(
        this.client,
        { service },
        { deadline: Date.now() + timeoutMs },
        (err: grpc.ServiceError | null, res?: { status: ServingStatus }) => {
          if (err) resolve(err.code === grpc.status.NOT_FOUND ? "SERVICE_UNKNOWN" : "UNREACHABLE");
          else resolve(res?.status ?? "UNKNOWN");
        },
      );
    });
  }

  close(): void {
    this.client.close();
  }
}

/**
 * Polls the health of a set of dependencies and reports, on every change, whether at least one of them is
 * SERVING. Polls every 100 ms until each dependency has been SERVING once (services start in any order), then
 * every `intervalMs`. A service uses it to report its own health: it cannot do its job when nothing downstream can.
 */
export class DependencyWatch {
  private readonly probes: HealthProbe[];
  private timer?: NodeJS.Timeout;
  private readonly states = new Map<string, ServingStatus>();
  /** Addresses seen SERVING at least once: until every one has been, polling is fast (start-up). */
  private readonly seenServing = new Set<string>();

  constructor(
    addresses: string[],
    credentials: grpc.ChannelCredentials,
    private readonly onChange: (anyServing: boolean, states: Map<string, ServingStatus>) => void,
    private readonly intervalMs = 1000,
  ) {
    this.probes = addresses.map((a) => new HealthProbe(a, credentials));
  }

  start(): this {
    const tick = async () => {
      const before = this.anyServing();
      const results = await Promise.all(this.probes.map((p) => p.check("", Math.min(1000, this.intervalMs))));
      let changed = false;
      this.probes.forEach((p, i) => {
        if (this.states.get(p.address) !== results[i]) changed = true;
        this.states.set(p.address, results[i]!);
        if (results[i] === "SERVING") this.seenServing.add(p.address);
      });
      if (changed || before !== this.anyServing()) this.onChange(this.anyServing(), this.states);
      // Start-up: poll every 100 ms until each dependency has been SERVING once, then at the configured interval.
      const next = this.seenServing.size < this.probes.length ? Math.min(100, this.intervalMs) : this.intervalMs;
      this.timer = setTimeout(() => void tick(), next);
      this.timer.unref();
    };
    void tick();
    return this;
  }

  anyServing(): boolean {
    return [...this.states.values()].includes("SERVING");
  }

  /** Addresses currently SERVING. */
  serving(): string[] {
    return [...this.states.entries()].filter(([, s]) => s === "SERVING").map(([a]) => a);
  }

  close(): void {
    clearTimeout(this.timer);
    for (const p of this.probes) p.close();
  }
}
