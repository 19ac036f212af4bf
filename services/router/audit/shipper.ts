import { readFileSync } from "node:fs";
import { basename } from "node:path";
import type { JetStreamClient } from "nats";
import type { Logger } from "pino";
import { decodeFrames, type Frame } from "../../lib/audit/index.js";
import type { Spool } from "./spool.js";

export interface ShipperOptions {
  /** How often the spool is sealed and shipped, ms (ROUTER_AUDIT_SHIP_MS). */
  intervalMs: number;
  /** Publishes awaited together. */
  inFlight?: number;
  log: Logger;
}

/**
 * Ships the spool to the audit stream off the request path: seals the active segment, publishes every frame of
 * each sealed segment with its publish id (Nats-Msg-Id, so a segment shipped twice after a crash is stored once)
 * and removes the segment only once the stream acknowledged all of its frames. While NATS or the stream is away
 * the spool grows; a warning names the backlog, at most every 10 s.
 */
export class Shipper {
  private readonly timer: NodeJS.Timeout;
  private running?: Promise<void>;
  private lastWarn = 0;
  shipped = 0;

  constructor(
    private readonly spool: Spool,
    private readonly js: JetStreamClient,
    private readonly opts: ShipperOptions,
  ) {
    this.timer = setInterval(() => void this.tick(), opts.intervalMs);
    this.timer.unref();
  }

  /** One round: seal, then ship the sealed segments in order; stops at the first failure (retried next round). */
  tick(): Promise<void> {
    this.running ??= this.round().finally(() => (this.running = undefined));
    return this.running;
  }

  private async round(): Promise<void> {
    try {
      await this.spool.seal();
      for (const path of this.spool.sealed()) {
        await this.ship(path);
        this.spool.remove(path);
      }
    } catch (err) {
      this.warn(err as Error);
    }
  }

  private async ship(path: string): Promise<void> {
    const { frames } = decodeFrames(readFileSync(path));
    const n = this.opts.inFlight ?? 256;
    for (let i = 0; i < frames.length; i += n) {
      await Promise.all(frames.slice(i, i + n).map((f) => this.publish(f)));
    }
    this.shipped += frames.length;
    this.opts.log.debug({ segment: basename(path), frames: frames.length }, "audit spool segment shipped");
  }

  private async publish(f: Frame): Promise<void> {
    const [subject, msgID] = f.meta.split(" ") as [string, string];
    await this.js.publish(subject, f.payload, { msgID, timeout: 5000 });
  }

  private warn(err: Error): void {
    if (Date.now() - this.lastWarn < 10_000) return;
    this.lastWarn = Date.now();
    this.opts.log.warn(
      { err: err.message, spoolBytes: this.spool.bytes, segments: this.spool.sealed().length },
      "audit records not shipped yet (NATS or the audit stream unreachable): they wait in the spool",
    );
  }

  /** Stops shipping; with `drain`, one last round first (at shutdown). */
  async close(drain = true): Promise<void> {
    clearInterval(this.timer);
    await this.running;
    if (drain) await this.tick();
  }
}
