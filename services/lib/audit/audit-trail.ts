import { toBinary } from "@bufbuild/protobuf";
import type { KeyObject } from "node:crypto";
import type { Logger } from "pino";
import { CheckpointSchema } from "../../../gen/scoremesh/audit/v1/audit_pb.js";
import { Chains, sha256 } from "./chain.js";
import { signCheckpoint } from "./checkpoint.js";
import { encodeFrame, FrameKind } from "./frames.js";
import { checkpointMsgId, checkpointSubject, recordMsgId, recordSubject, type AuditRole } from "./stream.js";
import { encodeAuditRecord, type AuditFields } from "./record-encoder.js";
import { SpoolFullError, type Spool } from "./spool.js";

/** One decision's record as the Route handler hands it over (see record-encoder.ts). */
export type AuditRecordInit = AuditFields;

export interface AuditTrailOptions {
  /** This process's chains: "router-<host>-<pid>-<start>" (or "validator-…" for the edge). */
  writer: string;
  /** Whose subjects the records and checkpoints go to (default "router"). */
  role?: AuditRole;
  /** Signs checkpoints (ROUTER_AUDIT_SIGNING_KEY_FILE, or the edge's VALIDATOR_AUDIT_SIGNING_KEY_FILE). */
  key: KeyObject;
  /** How often a signed checkpoint over the chain heads is written (when a chain moved), ms. */
  checkpointMs: number;
  /** At the spool's limit: "refuse" the call (no decision without its record) or "serve" it unrecorded. */
  whenFull: "refuse" | "serve";
  log: Logger;
}

/** A decision could not be recorded: the caller must not get it. */
export class AuditUnavailableError extends Error {
  override name = "AuditUnavailableError";
}

/**
 * A writer's side of the audit trail (a router's, or the edge's): chains each call's records (one chain per model of this writer),
 * appends them to the spool in one write before the router answers, and writes a signed checkpoint over the chain
 * heads at start and every `checkpointMs` while chains move.
 */
export class AuditTrail {
  private readonly chains = new Chains();
  private checkpointSeq = 0n;
  private checkpointed = -1;
  private readonly timer: NodeJS.Timeout;
  private lastFullLog = 0;
  /** Decisions served without a record (whenFull "serve" with a full spool). */
  unrecorded = 0;

  constructor(
    private readonly spool: Spool,
    private readonly opts: AuditTrailOptions,
  ) {
    this.checkpoint();
    this.timer = setInterval(() => this.checkpoint(), opts.checkpointMs);
    this.timer.unref();
  }

  /** Records one call's decisions (all of one model); throws AuditUnavailableError when it cannot. */
  record(model: string, records: AuditRecordInit[]): void {
    const { writer, role } = this.opts;
    const subject = recordSubject(model, writer, role);
    let { seq, prevHash } = this.chains.next(model);
    const frames: Buffer[] = [];
    let last = prevHash;
    for (const r of records) {
      const bytes = encodeAuditRecord(model, r, { writer, seq, prevHash });
      frames.push(encodeFrame(FrameKind.Record, bytes, `${subject} ${recordMsgId(model, writer, seq)}`));
      last = bytes;
      prevHash = sha256(bytes);
      seq++;
    }
    if (!this.append(Buffer.concat(frames), records.length)) return;
    if (records.length > 0) this.chains.commit(model, seq - 1n, last);
  }

  /** Appends; false when the spool is full and decisions are served unrecorded. */
  private append(buf: Buffer, n: number): boolean {
    try {
      this.spool.append(buf);
      return true;
    } catch (err) {
      if (err instanceof SpoolFullError && this.opts.whenFull === "serve") {
        this.unrecorded += n;
        this.logFull(err);
        return false;
      }
      if (err instanceof SpoolFullError) this.logFull(err);
      throw new AuditUnavailableError(`the decision could not be recorded: ${(err as Error).message}`, { cause: err });
    }
  }

  private logFull(err: Error): void {
    if (Date.now() - this.lastFullLog < 10_000) return;
    this.lastFullLog = Date.now();
    this.opts.log.error(
      { err: err.message, whenFull: this.opts.whenFull, unrecorded: this.unrecorded },
      this.opts.whenFull === "serve"
        ? "AUDIT SPOOL FULL: decisions are served WITHOUT an audit record until NATS takes the spool"
        : "AUDIT SPOOL FULL: calls are refused until NATS takes the spool",
    );
  }

  /** A signed checkpoint over every chain head into the spool, when a chain moved since the last one. */
  checkpoint(): void {
    if (this.chains.version === this.checkpointed) return;
    const { writer, key } = this.opts;
    const seq = ++this.checkpointSeq;
    const cp = signCheckpoint(writer, seq, Date.now(), this.chains.all(), key);
    const meta = `${checkpointSubject(writer, this.opts.role)} ${checkpointMsgId(writer, seq)}`;
    try {
      this.spool.append(encodeFrame(FrameKind.Checkpoint, toBinary(CheckpointSchema, cp), meta));
      this.checkpointed = this.chains.version;
    } catch (err) {
      this.checkpointSeq--;
      this.opts.log.error({ err: (err as Error).message }, "audit checkpoint not written");
    }
  }

  close(): void {
    clearInterval(this.timer);
    this.checkpoint();
  }
}
