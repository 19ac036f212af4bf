import { Agent, request } from "node:http";

/**
 * HTTP JSON load for the overload bench: Connect-protocol unary calls (`POST /<service>/<method>`, JSON body,
 * `connect-timeout-ms` as the deadline) over a keep-alive pool, each outcome classified and timed.
 */
export interface CallOutcome {
  /** HTTP status; 0 when there was no answer (connection failed or reset, or the client gave up). */
  status: number;
  /** From the call's start (its scheduled send) to its answer. */
  ms: number;
  /** From when the request went out on a connection to its answer (`ms` less the wait for a pooled connection). */
  wireMs: number;
  /** "hung" (no answer within the client's give-up time), "reset", "refused", or another socket error code. */
  failure?: string;
  retryAfter?: string;
}

export interface HttpLoadOptions {
  /** Base URL of the validator's HTTP listener, e.g. http://127.0.0.1:8080. */
  base: string;
  /** Deadline sent with every call (connect-timeout-ms). */
  deadlineMs: number;
  /** The client gives up on a call with no answer after this long: it counts as hung. */
  giveUpMs: number;
  /** Connections in the pool; calls beyond them wait in the client (and that wait counts in their latency). */
  sockets: number;
  /** The API key sent on every call ("authorization: Bearer <key>"); none when undefined. */
  apiKey?: string | undefined;
}

export class HttpLoad {
  private readonly agent: Agent;
  private readonly url: URL;

  constructor(private readonly opts: HttpLoadOptions) {
    this.agent = new Agent({ keepAlive: true, maxSockets: opts.sockets, maxFreeSockets: opts.sockets });
    this.url = new URL("/scoremesh.scoring.v1.ScoringService/Score", opts.base);
  }

  /** One call; never rejects. */
  call(body: string): Promise<CallOutcome> {
    const t0 = performance.now();
    let sentAt = t0;
    return new Promise((resolve) => {
      let done = false;
      const finish = (o: Omit<CallOutcome, "ms" | "wireMs">) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        const now = performance.now();
        resolve({ ...o, ms: now - t0, wireMs: now - sentAt });
      };
      const req = request(this.url, {
        method: "POST",
        agent: this.agent,
        headers: {
          "content-type": "application/json",
          "connect-protocol-version": "1",
          "connect-timeout-ms": String(this.opts.deadlineMs),
          "content-length": Buffer.byteLength(body),
          ...(this.opts.apiKey ? { authorization: `Bearer ${this.opts.apiKey}` } : {}),
        },
      });
      req.once("socket", () => (sentAt = performance.now()));
      const timer = setTimeout(() => {
        finish({ status: 0, failure: "hung" });
        req.destroy();
      }, this.opts.giveUpMs);
      req.on("response", (res) => {
        res.resume();
        res.on("end", () => {
          const ra = res.headers["retry-after"];
          finish({ status: res.statusCode ?? 0, ...(ra ? { retryAfter: ra } : {}) });
        });
        res.on("error", () => finish({ status: 0, failure: "reset" }));
      });
      req.on("error", (err: NodeJS.ErrnoException) =>
        finish({
          status: 0,
          failure: err.code === "ECONNRESET" || /hang up/.test(err.message) ? "reset" : (err.code ?? "error"),
        }),
      );
      req.end(body);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

export function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? 0;
}

/** Closed loop: `concurrency` callers for `seconds`; answered-OK calls per second, errors and p99. */
export async function closedLoop(load: HttpLoad, bodies: string[], concurrency: number, seconds: number) {
  const lat: number[] = [];
  const bad = new Map<string, number>();
  let next = 0;
  const end = performance.now() + seconds * 1000;
  const caller = async () => {
    while (performance.now() < end) {
      const o = await load.call(bodies[next++ % bodies.length]!);
      if (o.status === 200) lat.push(o.ms);
      else bad.set(o.failure ?? String(o.status), (bad.get(o.failure ?? String(o.status)) ?? 0) + 1);
    }
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: concurrency }, caller));
  const elapsed = (performance.now() - t0) / 1000;
  lat.sort((a, b) => a - b);
  return {
    concurrency,
    ok: lat.length,
    rps: Math.round(lat.length / elapsed),
    p50Ms: round(quantile(lat, 0.5)),
    p99Ms: round(quantile(lat, 0.99)),
    failures: Object.fromEntries(bad),
  };
}

export const round = (x: number, digits = 1) => Math.round(x * 10 ** digits) / 10 ** digits;
