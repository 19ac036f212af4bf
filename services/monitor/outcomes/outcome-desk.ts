import { create, toBinary } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import type { JetStreamClient, NatsConnection } from "nats";
import type { Logger } from "pino";
import { OutcomeReportSchema } from "../../../gen/scoremesh/audit/v1/audit_pb.js";
import {
  DecisionOutcomeSchema,
  type DecisionOutcome,
  type DecisionRecord,
  type OutcomeCount,
  type OutcomeWindow,
  type RecordOutcomeRequest,
  type RecordOutcomeResponse,
} from "../../../gen/scoremesh/monitor/v1/monitor_pb.js";
import { Outcome } from "../../../gen/scoremesh/scoring/v1/scoring_pb.js";
import { AUDIT_OUTCOME_PREFIX, encodeFrame, FrameKind, subjectToken } from "../../lib/audit/index.js";
import type { MonitorStore } from "../monitor-stores.js";
import { settledWithin } from "../reviews/review-desk.js";
import { caseIdOf, WorkflowError } from "../reviews/workflow.js";
import { OutcomeStore } from "./outcome-store.js";
import { OutcomeWindowStore } from "./window-store.js";

const WRITE_WAIT_MS = 1000;
const PENDING_MAX = 100_000;

type Reply = Omit<RecordOutcomeResponse, "$typeName" | "$unknown">;

/**
 * Outcomes joined to decisions: every decision the monitor records is kept (key per tenant and request id) so
 * that a tenant's later outcome finds it; the first outcome is stored by compare-and-set, written to the audit
 * stream and counted per (model, version, decision, outcome). While NATS is away, decisions wait in memory.
 */
export class OutcomeDesk implements MonitorStore {
  readonly name = "decisions and outcomes";
  private store?: OutcomeStore;
  private windowStore?: OutcomeWindowStore;
  private js?: JetStreamClient;
  private pending: [string, DecisionOutcome][] = [];
  dropped = 0;

  constructor(
    private readonly ttlMs: number,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
    /** Outcomes per version in the rolling window (MONITOR_OUTCOME_WINDOW). */
    private readonly windowMax = 1000,
  ) {}

  async open(nc: NatsConnection): Promise<void> {
    this.windowStore = await OutcomeWindowStore.open(nc, this.windowMax);
    this.store = await OutcomeStore.open(nc, this.ttlMs);
    this.js = nc.jetstream();
  }

  /** Keeps the decisions of `records` for outcomes (bounded wait; what fails waits in memory). */
  async index(records: DecisionRecord[]): Promise<void> {
    const items = records.map((r): [string, DecisionOutcome] => [caseIdOf(r.tenantId, r.requestId), decisionOf(r)]);
    if (items.length > 0) await this.write(items);
  }

  /** Decisions waiting in memory for NATS (written by the next flush). */
  pendingCount(): number {
    return this.pending.length;
  }

  async flush(): Promise<void> {
    if (this.pending.length > 0) await this.write(this.pending.splice(0));
  }

  private async write(items: [string, DecisionOutcome][]): Promise<void> {
    const store = this.store;
    const results = store ? await store.createMany(items, WRITE_WAIT_MS) : [];
    // A key already there may hold a deleted entry: `create` overwrites one (and is done for a kept decision).
    const there = items.filter((_, i) => results[i] === "exists");
    const rechecked =
      there.length > 0
        ? await settledWithin(
            there.map(([k, d]) => store!.create(k, d)),
            WRITE_WAIT_MS,
          )
        : [];
    const failed = [
      ...items.filter((_, i) => results[i] !== "created" && results[i] !== "exists"),
      ...there.filter((_, i) => rechecked[i]?.status !== "fulfilled"),
    ];
    if (failed.length === 0) return;
    this.pending.push(...failed);
    if (this.pending.length > PENDING_MAX) {
      this.dropped += this.pending.length - PENDING_MAX;
      this.pending.splice(0, this.pending.length - PENDING_MAX);
    }
  }

  /** Joins an outcome to the tenant's decision; see MonitorService.RecordOutcome for the rules. */
  async record(req: RecordOutcomeRequest): Promise<Reply> {
    if (req.outcome !== Outcome.REPAID && req.outcome !== Outcome.DEFAULTED)
      throw new WorkflowError("invalid", "outcome must be REPAID or DEFAULTED");
    const store = this.store;
    if (!store) throw new WorkflowError("unavailable", "the outcome store (NATS) is not reachable yet");
    const key = caseIdOf(req.tenantId, req.requestId);
    for (let attempt = 0; attempt < 5; attempt++) {
      const stored = await store.get(key);
      if (!stored || stored.d.tenantId !== req.tenantId || stored.d.requestId !== req.requestId)
        throw new WorkflowError("not-found", `no decision of request ${JSON.stringify(req.requestId)}`);
      const d = stored.d;
      if (d.outcome === req.outcome) return reply(d, true);
      if (d.outcome !== Outcome.UNSPECIFIED)
        throw new WorkflowError(
          "conflict",
          `request ${JSON.stringify(req.requestId)} already has the outcome ${Outcome[d.outcome]} (observed ${d.observedOn}); an outcome is final`,
        );
      const next = { ...d, outcome: req.outcome, observedOn: req.observedOn, reportedAt: timestampFromMs(this.now()) };
      if (!(await store.update(key, next, stored.revision))) continue;
      await this.audit(next);
      await store.count(next);
      await this.windowStore?.append(next.model, next.modelVersion, {
        score: next.score,
        tier: next.decision,
        defaulted: next.outcome === Outcome.DEFAULTED,
      });
      return reply(next, false);
    }
    throw new WorkflowError("unavailable", "the decision kept changing under concurrent writers; try again");
  }

  /** The tenant's own kept decision of `requestId` (GetDecision); another tenant's is not found, as a missing one. */
  async decision(tenantId: string, requestId: string): Promise<DecisionOutcome> {
    const store = this.store;
    if (!store) throw new WorkflowError("unavailable", "the decision store (NATS) is not reachable yet");
    const stored = await store.get(caseIdOf(tenantId, requestId));
    if (!stored || stored.d.tenantId !== tenantId || stored.d.requestId !== requestId)
      throw new WorkflowError("not-found", `no decision of request ${JSON.stringify(requestId)}`);
    return stored.d;
  }

  /** The durable counts (none while NATS is away). */
  async counts(): Promise<OutcomeCount[]> {
    return this.store ? this.store.listCounts().catch(() => []) : [];
  }

  /** The versions' outcome windows (of `model` only, when given); throws while NATS is away. */
  async windows(model?: string): Promise<OutcomeWindow[]> {
    if (!this.windowStore) throw new WorkflowError("unavailable", "the outcome store (NATS) is not reachable yet");
    return this.windowStore.list(model);
  }

  private async audit(d: DecisionOutcome): Promise<void> {
    const body = create(OutcomeReportSchema, {
      schemaVersion: 1,
      requestId: d.requestId,
      tenantId: d.tenantId,
      model: d.model,
      modelVersion: d.modelVersion,
      decision: d.decision,
      score: d.score,
      outcome: d.outcome,
      observedOn: d.observedOn,
      reportedAt: d.reportedAt,
    });
    const frame = encodeFrame(FrameKind.Outcome, toBinary(OutcomeReportSchema, body));
    await this.js!.publish(`${AUDIT_OUTCOME_PREFIX}.${subjectToken(d.model)}`, frame, {
      msgID: `outcome|${caseIdOf(d.tenantId, d.requestId)}`,
      timeout: 5000,
    });
  }
}

function decisionOf(r: DecisionRecord): DecisionOutcome {
  return create(DecisionOutcomeSchema, {
    tenantId: r.tenantId,
    requestId: r.requestId,
    model: r.model,
    modelVersion: r.modelVersion,
    decision: r.decision,
    score: r.score,
    decidedAt: r.decidedAt,
    traceId: r.traceId,
    reasons: r.reasons,
    route: r.route,
    degraded: r.degraded,
  });
}

function reply(d: DecisionOutcome, duplicate: boolean): Reply {
  return { model: d.model, modelVersion: d.modelVersion, decision: d.decision, duplicate };
}
