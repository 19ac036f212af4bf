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
    channelOptions: grpc.ChannelOptions = {},
  ) {
    this.client = new HealthClient(address, credentials, {
      ...tlsChannelOptions(address, credentials),
      ...channelOptions,
    });
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
  private probes: HealthProbe[];
  private timer?: NodeJS.Timeout;
  private readonly states = new Map<string, ServingStatus>();
  /** Addresses seen SERVING at least once: until every one has been, polling is fast (start-up). */
  private readonly seenServing = new Set<string>();

  constructor(
    addresses: string[],
    private readonly credentials: grpc.ChannelCredentials,
    private readonly onChange: (anyServing: boolean, states: Map<string, ServingStatus>) => void,
    private readonly intervalMs = 1000,
    private readonly channelOptions: (address: string) => grpc.ChannelOptions = () => ({}),
  ) {
    this.probes = addresses.map((a) => new HealthProbe(a, this.credentials, channelOptions(a)));
  }

  /**
   * Watches `addresses` from now on (a discovered set changed): probes for new ones, removed ones closed and
   * forgotten. A new address counts as not yet SERVING until its first probe.
   */
  setAddresses(addresses: readonly string[]): void {
    const keep = new Set(addresses);
    for (const p of this.probes.filter((p) => !keep.has(p.address))) {
      p.close();
      this.states.delete(p.address);
      this.seenServing.delete(p.address);
    }
    const have = new Set(this.probes.map((p) => p.address));
    this.probes = [
      ...this.probes.filter((p) => keep.has(p.address)),
      ...addresses.filter((a) => !have.has(a)).map((a) => new HealthProbe(a, this.credentials, this.channelOptions(a))),
    ];
  }

  start(): this {
    const tick = async () => {
      const before = this.anyServing();
      const probes = this.probes;
      const results = await Promise.all(probes.map((p) => p.check("", Math.min(1000, this.intervalMs))));
      let changed = false;
      // Probes removed by setAddresses while checking are not reported.
      probes.forEach((p, i) => {
        if (!this.probes.includes(p)) return;
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
