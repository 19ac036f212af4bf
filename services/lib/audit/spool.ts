import {
  closeSync,
  fdatasync,
  fsync,
  close as closeFd,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  statSync,
  truncateSync,
  unlinkSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";
import type { Logger } from "pino";
import { decodeFrames } from "./frames.js";
import { SpoolLock } from "./spool-lock.js";

export interface SpoolOptions {
  /** The replica's own folder (ROUTER_AUDIT_SPOOL_DIR, VALIDATOR_AUDIT_SPOOL_DIR); a lock keeps a second process out. */
  dir: string;
  /** The writing process (its chains' writer name), in its segments' names: shipped ids stay unique. */
  writer: string;
  /** How often written frames are fdatasync'ed, ms (<PREFIX>_AUDIT_FSYNC_MS): host loss loses at most this much. */
  syncMs: number;
  /** The most bytes the spool may hold (<PREFIX>_AUDIT_SPOOL_MAX_BYTES); append throws SpoolFullError beyond. */
  maxBytes: number;
  log: Logger;
}

/** The spool holds `maxBytes` already: records are not shipping (NATS away?). */
export class SpoolFullError extends Error {
  override name = "SpoolFullError";
}

const SEGMENT = /^seg-\d{15}-\d{8}-[A-Za-z0-9_-]+\.wal$/;

/**
 * A writer's (router's or validator's) local write-ahead spool of audit frames. `append` writes with one write(2) before the router
 * answers (a process crash loses nothing written); written data is fdatasync'ed every `syncMs` (host loss loses
 * at most that window). The shipper seals the active segment, ships sealed ones and removes them once the stream
 * acknowledged every frame. At open, a torn tail (a crash in the middle of a write) is cut off at the last whole
 * frame.
 *
 * @example
 * const spool = Spool.open({ dir: ".scoremesh/audit/spool/router", syncMs: 50, maxBytes: 1 << 30, log });
 * spool.append(encodeFrame(FrameKind.Record, bytes, meta));
 */
export class Spool {
  private fd = -1;
  private active = "";
  private activeBytes = 0;
  private counter = 0;
  private dirty = false;
  private readonly timer: NodeJS.Timeout;
  private readonly lock: SpoolLock;
  /** Bytes held in every segment. */
  bytes = 0;

  private constructor(private readonly opts: SpoolOptions) {
    mkdirSync(opts.dir, { recursive: true });
    this.lock = SpoolLock.take(join(opts.dir, "spool.lock"));
    this.bytes = this.recover();
    this.openSegment();
    this.timer = setInterval(() => this.sync(), opts.syncMs);
    this.timer.unref();
  }

  static open(opts: SpoolOptions): Spool {
    return new Spool(opts);
  }

  /** Writes `buf` (whole frames) to the active segment; throws SpoolFullError past maxBytes, or the write's error. */
  append(buf: Buffer): void {
    if (this.bytes + buf.length > this.opts.maxBytes)
      throw new SpoolFullError(`audit spool holds ${this.bytes} bytes, its limit is ${this.opts.maxBytes}`);
    let off = 0;
    while (off < buf.length) off += writeSync(this.fd, buf, off, buf.length - off);
    this.bytes += buf.length;
    this.activeBytes += buf.length;
    this.dirty = true;
  }

  /** Seals the active segment (when it holds anything) and starts a new one; resolves once the old one is synced. */
  async seal(): Promise<void> {
    if (this.activeBytes === 0 || this.fd < 0) return;
    const fd = this.fd;
    this.openSegment();
    await new Promise<void>((resolve) => fdatasync(fd, () => closeFd(fd, () => resolve())));
  }

  /** Sealed segments, oldest first. */
  sealed(): string[] {
    return this.segments()
      .filter((f) => f !== this.active)
      .map((f) => join(this.opts.dir, f));
  }

  /** Drops a shipped segment. */
  remove(path: string): void {
    const size = statSync(path).size;
    unlinkSync(path);
    this.bytes -= size;
  }

  /** fdatasync of what was written since the last one (off the event loop). */
  sync(): void {
    if (!this.dirty || this.fd < 0) return;
    this.dirty = false;
    fdatasync(this.fd, (err) => {
      // EBADF: the segment was sealed (synced and closed) meanwhile.
      if (err && err.code !== "EBADF") this.opts.log.error({ err }, "audit spool: fdatasync failed");
    });
  }

  close(): void {
    clearInterval(this.timer);
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
    this.lock.release();
  }

  private segments(): string[] {
    return readdirSync(this.opts.dir)
      .filter((f) => SEGMENT.test(f))
      .sort();
  }

  private openSegment(): void {
    const stamp = `${String(Date.now()).padStart(15, "0")}-${String(this.counter++).padStart(8, "0")}`;
    const name = `seg-${stamp}-${this.opts.writer.replace(/[^A-Za-z0-9_-]/g, "_")}.wal`;
    this.fd = openSync(join(this.opts.dir, name), "a");
    this.active = name;
    this.activeBytes = 0;
    // The new file's directory entry, so that a host crash does not lose the segment itself.
    const dirFd = openSync(this.opts.dir, "r");
    fsync(dirFd, () => closeFd(dirFd, () => undefined));
  }

  /** Cuts torn tails off the segments left by an earlier process; returns the bytes they hold. */
  private recover(): number {
    let total = 0;
    for (const f of this.segments()) {
      const path = join(this.opts.dir, f);
      const buf = readFileSync(path);
      const { frames, goodBytes, damaged } = decodeFrames(buf);
      if (damaged) {
        truncateSync(path, goodBytes);
        this.opts.log.warn(
          { segment: f, kept: frames.length, droppedBytes: buf.length - goodBytes, why: damaged },
          "audit spool: cut a torn tail (a crash in the middle of a write); the frames before it are kept",
        );
      }
      if (goodBytes === 0) unlinkSync(path);
      else total += goodBytes;
    }
    return total;
  }
}
