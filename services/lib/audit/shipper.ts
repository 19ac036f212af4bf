import { readFileSync } from "node:fs";
import { basename } from "node:path";
import type { JetStreamClient } from "nats";
import type { Logger } from "pino";
import { decodeFrames, type Frame } from "./frames.js";

/** Frames per stream message at most, and bytes (well under nats-server's 1 MiB max_payload). */
const BATCH_FRAMES = 512;
const BATCH_BYTES = 256 * 1024;

/** One stream message: frames of one subject (one chain, or checkpoints), in spool order. */
export interface Batch {
  subject: string;
  /** `<segment>|<subject>|<n>`: the same on every re-ship of the (immutable, sealed) segment. */
  msgID: string;
  data: Uint8Array;
}

/**
 * A sealed segment's frames as stream messages: grouped by subject, order kept within each, cut at BATCH_FRAMES or
 * BATCH_BYTES. One publish (and one PubAck) per batch instead of per record keeps shipping cheap.
 */
export function batchesOf(segment: string, frames: Frame[]): Batch[] {
  const bySubject = new Map<string, Frame[]>();
  for (const f of frames) {
    const subject = f.meta.split(" ")[0]!;
    if (!bySubject.has(subject)) bySubject.set(subject, []);
    bySubject.get(subject)!.push(f);
  }
  const out: Batch[] = [];
  for (const [subject, list] of bySubject) {
    let cur: Uint8Array[] = [];
    let bytes = 0;
    const flush = () => {
      if (cur.length === 0) return;
      out.push({ subject, msgID: `${segment}|${subject}|${out.length}`, data: Buffer.concat(cur) });
      cur = [];
      bytes = 0;
    };
    for (const f of list) {
      if (cur.length >= BATCH_FRAMES || bytes + f.raw.length > BATCH_BYTES) flush();
      cur.push(f.raw);
      bytes += f.raw.length;
    }
    flush();
  }
  return out;
}
import type { Spool } from "./spool.js";

export interface ShipperOptions {
  /** How often the spool is sealed and shipped, ms (<PREFIX>_AUDIT_SHIP_MS). */
  intervalMs: number;
  /** Publishes awaited together. */
  inFlight?: number;
  log: Logger;
}

/**
 * Ships the spool to the audit stream off the request path: seals the active segment, publishes each sealed
 * segment's frames in batches per subject (batchesOf), each with its publish id (Nats-Msg-Id, so a segment shipped
 * twice after a crash is stored once), and removes the segment only once the stream acknowledged every batch. While NATS or the stream is away
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
    const batches = batchesOf(basename(path), frames);
    const n = this.opts.inFlight ?? 16;
    for (let i = 0; i < batches.length; i += n) {
      await Promise.all(
        batches.slice(i, i + n).map((b) => this.js.publish(b.subject, b.data, { msgID: b.msgID, timeout: 5000 })),
      );
    }
    this.shipped += frames.length;
    this.opts.log.debug({ segment: basename(path), frames: frames.length }, "audit spool segment shipped");
  }

  private warn(err: Error): void {
    if (Date.now() - this.lastWarn < 10_000) return;
    this.lastWarn = Date.now();
    this.opts.log.warn(
      { err: err.message, spoolBytes: this.spool.bytes, segments: this.spool.sealed().length },
      "audit records not shipped yet (NATS or the audit stream unreachable): they wait in the spool",
    );
  }

  /**
   * Stops shipping; with `drain`, one last round first (at shutdown), given up after `drainMs` (NATS away: what is
   * left stays in the spool for the next start).
   */
  async close(drain = true, drainMs = 2000): Promise<void> {
    clearInterval(this.timer);
    const last = (async () => {
      await this.running;
      if (drain) await this.tick();
    })();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([last, new Promise<void>((resolve) => (timer = setTimeout(resolve, drainMs)))]);
    clearTimeout(timer);
  }
}
