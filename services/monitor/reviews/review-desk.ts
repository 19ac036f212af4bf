import type { JetStreamClient, NatsConnection } from "nats";
import type { Logger } from "pino";
import {
  ReviewAction_Kind,
  type DecisionRecord,
  type ReviewCase,
} from "../../../gen/scoremesh/monitor/v1/monitor_pb.js";
import { Decision } from "../../../gen/scoremesh/scoring/v1/scoring_pb.js";
import type { TrustedOperators } from "../../lib/nats/index.js";
import type { MonitorStore } from "../monitor-stores.js";
import { verifyAction } from "./action-signing.js";
import { writeResolution } from "./audit-writer.js";
import { ReviewStore } from "./review-store.js";
import { applyAction, openCase, WorkflowError } from "./workflow.js";

/** How long Record waits for the cases of a batch to be stored before they wait in memory instead. */
const WRITE_WAIT_MS = 1000;

/** The results of `promises`, or none (all counted as failed) if they take longer than `ms`. */
export async function settledWithin<T>(promises: Promise<T>[], ms: number): Promise<PromiseSettledResult<T>[]> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<[]>((r) => (timer = setTimeout(() => r([]), ms)));
  try {
    return await Promise.race([Promise.allSettled(promises), late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Cases waiting for NATS beyond this are dropped (and counted): the monitor's memory is bounded. */
const PENDING_MAX = 100_000;

/**
 * The review workflow over the durable store: opens a case for every decision REVIEW, lists cases, and applies
 * reviewers' signed claims and resolutions with compare-and-set (re-reading and re-checking the rules when
 * another monitor replica moved the case first). While NATS is away, new cases wait in memory and are written
 * when the store is back (a monitor killed in that time loses them: docs/audit.md).
 */
export class ReviewDesk implements MonitorStore {
  private store?: ReviewStore;
  private js?: JetStreamClient;
  private pending: ReviewCase[] = [];
  private flushing = false;
  /** Cases dropped because too many waited for NATS. */
  dropped = 0;

  constructor(
    private readonly trusted: TrustedOperators,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  readonly name = "review cases";

  /** Opens the review bucket on `nc` and attaches it (MonitorStore). */
  async open(nc: NatsConnection): Promise<void> {
    this.attach(await ReviewStore.open(nc), nc.jetstream());
  }

  /** The store is open: cases go to it from now on, those waiting first. */
  attach(store: ReviewStore, js: JetStreamClient): void {
    this.store = store;
    this.js = js;
    void this.flush();
  }

  /** Opens a case for every REVIEW record; resolves once they are stored (or waiting, when NATS is away). */
  async offer(records: DecisionRecord[]): Promise<void> {
    const now = this.now();
    const cases = records.filter((r) => r.decision === Decision.REVIEW && !r.shadowOf).map((r) => openCase(r, now));
    if (cases.length > 0) await this.store_(cases);
  }

  /** Writes the cases that wait for NATS (the monitor calls it every few seconds). */
  async flush(): Promise<void> {
    if (this.flushing || this.pending.length === 0) return;
    this.flushing = true;
    try {
      await this.store_(this.pending.splice(0));
    } finally {
      this.flushing = false;
    }
  }

  /** Stores `cases`; those that fail wait in `pending` (bounded). */
  private async store_(cases: ReviewCase[]): Promise<void> {
    const store = this.store;
    // Bounded: with NATS away a write waits for its timeout, and the router's Record call must not (creates
    // are idempotent, so a case written late is found existing when retried).
    const results = store
      ? await settledWithin(
          cases.map((c) => store.create(c)),
          WRITE_WAIT_MS,
        )
      : [];
    const failed = cases.filter((_, i) => results[i]?.status !== "fulfilled");
    if (failed.length === 0) return;
    this.pending.push(...failed);
    if (this.pending.length > PENDING_MAX) {
      this.dropped += this.pending.length - PENDING_MAX;
      this.pending.splice(0, this.pending.length - PENDING_MAX);
    }
    this.log.warn({ waiting: this.pending.length, dropped: this.dropped }, "review cases not stored yet (NATS)");
  }

  /** Every stored case; UNAVAILABLE until the store is open. */
  async list(): Promise<ReviewCase[]> {
    return (await this.openStore()).list();
  }

  /** Applies a reviewer's signed action of `kind`; returns the case as stored after it. */
  async act(signed: string, kind: ReviewAction_Kind): Promise<ReviewCase> {
    const { action, reviewer } = verifyAction(signed, this.trusted, this.now());
    if (action.kind !== kind)
      throw new WorkflowError("invalid", `signed_action.kind must be ${ReviewAction_Kind[kind]}`);
    const store = await this.openStore();
    for (let attempt = 0; attempt < 5; attempt++) {
      const stored = await store.get(action.caseId);
      if (!stored) throw new WorkflowError("not-found", `no review case ${JSON.stringify(action.caseId)}`);
      const next = applyAction(stored.c, action, reviewer, this.now());
      if (next === stored.c) return next;
      if (!(await store.update(next, stored.revision))) continue;
      if (kind === ReviewAction_Kind.RESOLVE) await this.audit(next, signed);
      this.log.info({ caseId: next.caseId, reviewer: reviewer.name, action: ReviewAction_Kind[kind] }, "review case");
      return next;
    }
    throw new WorkflowError("unavailable", `case ${action.caseId} kept changing under concurrent writers; try again`);
  }

  private async audit(c: ReviewCase, signed: string): Promise<void> {
    try {
      await writeResolution(this.js!, c, signed);
    } catch (err) {
      this.log.error({ err, caseId: c.caseId }, "review resolved, but its audit record was not written");
      throw new WorkflowError("unavailable", `case ${c.caseId} is resolved, but its audit record was not written yet`);
    }
  }

  private async openStore(): Promise<ReviewStore> {
    if (!this.store) throw new WorkflowError("unavailable", "the review store (NATS) is not reachable yet");
    return Promise.resolve(this.store);
  }
}
