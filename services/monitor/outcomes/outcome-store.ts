import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import type { KV, NatsConnection } from "nats";
import {
  DecisionOutcomeSchema,
  OutcomeCountSchema,
  type DecisionOutcome,
  type OutcomeCount,
} from "../../../gen/scoremesh/monitor/v1/monitor_pb.js";
import { Decision, Outcome } from "../../../gen/scoremesh/scoring/v1/scoring_pb.js";
import { withReplicas } from "../../lib/nats/index.js";
import { isWrongRevision } from "../../lib/nats/index.js";
import { kvKeys, KvCreateMany, type CreateResult } from "../../lib/nats/index.js";

/** The decisions outcomes can be joined to: key = caseIdOf(tenant, request id), one DecisionOutcome each. */
export const DECISION_BUCKET = "scoremesh_decisions";
/** The outcome counts: key "<hex of model>.<hex of version>.<decision>.<outcome>", one OutcomeCount each. */
export const OUTCOME_COUNT_BUCKET = "scoremesh_outcome_counts";

/** A stored decision and the revision a compare-and-set names. */
export interface StoredDecision {
  d: DecisionOutcome;
  revision: number;
}

const hexOf = (s: string) => Buffer.from(s, "utf8").toString("hex") || "_";

/**
 * The monitor's durable join of decisions and outcomes (two KV buckets, NATS_REPLICAS copies). Decisions are kept
 * `ttlMs` after they were recorded; counts are kept. Every write is a create or a compare-and-set.
 */
export class OutcomeStore {
  private constructor(
    private readonly decisions: KV,
    private readonly counts: KV,
    private readonly creates: KvCreateMany,
  ) {}

  static async open(nc: NatsConnection, ttlMs: number): Promise<OutcomeStore> {
    const js = nc.jetstream().views;
    const [decisions, counts] = await Promise.all([
      js.kv(DECISION_BUCKET, withReplicas({ history: 1, ttl: ttlMs })),
      js.kv(OUTCOME_COUNT_BUCKET, withReplicas({ history: 1 })),
    ]);
    return new OutcomeStore(decisions, counts, new KvCreateMany(nc, decisions));
  }

  /**
   * Stores each decision under its key unless it is there already, all in one go (KvCreateMany), within about
   * `waitMs`: "exists" for a key found there (it may hold a deleted entry, which `create` would overwrite).
   */
  createMany(items: readonly (readonly [string, DecisionOutcome])[], waitMs: number): Promise<CreateResult[]> {
    return this.creates.createAll(
      items.map(([k, d]) => [k, toBinary(DecisionOutcomeSchema, d)] as const),
      waitMs,
    );
  }

  /** Stores a decision under `key` unless it is there already. */
  async create(key: string, d: DecisionOutcome): Promise<void> {
    try {
      await this.decisions.create(key, toBinary(DecisionOutcomeSchema, d));
    } catch (err) {
      if (!isWrongRevision(err)) throw err;
    }
  }

  async get(key: string): Promise<StoredDecision | undefined> {
    const e = await this.decisions.get(key);
    if (!e || e.operation !== "PUT") return undefined;
    return { d: fromBinary(DecisionOutcomeSchema, e.value), revision: e.revision };
  }

  /** Writes `d` if it is still at `revision`; false when another writer moved it first. */
  async update(key: string, d: DecisionOutcome, revision: number): Promise<boolean> {
    try {
      await this.decisions.update(key, toBinary(DecisionOutcomeSchema, d), revision);
      return true;
    } catch (err) {
      if (isWrongRevision(err)) return false;
      throw err;
    }
  }

  /** Adds one to the count of `d`'s (model, version, decision, outcome), by compare-and-set. */
  async count(d: DecisionOutcome): Promise<void> {
    const key = `${hexOf(d.model)}.${hexOf(d.modelVersion)}.${Decision[d.decision]}.${Outcome[d.outcome]}`;
    for (;;) {
      const e = await this.counts.get(key);
      const c = e?.operation === "PUT" ? fromBinary(OutcomeCountSchema, e.value) : undefined;
      const next = create(OutcomeCountSchema, {
        model: d.model,
        modelVersion: d.modelVersion,
        decision: d.decision,
        outcome: d.outcome,
        count: (c?.count ?? 0n) + 1n,
      });
      try {
        const bytes = toBinary(OutcomeCountSchema, next);
        await (c ? this.counts.update(key, bytes, e!.revision) : this.counts.create(key, bytes));
        return;
      } catch (err) {
        if (!isWrongRevision(err)) throw err;
      }
    }
  }

  /** Every count. */
  async listCounts(): Promise<OutcomeCount[]> {
    const out: OutcomeCount[] = [];
    for (const k of await kvKeys(this.counts)) {
      const e = await this.counts.get(k);
      if (e?.operation === "PUT") out.push(fromBinary(OutcomeCountSchema, e.value));
    }
    return out;
  }
}
