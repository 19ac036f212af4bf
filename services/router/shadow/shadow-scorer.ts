import type { MessageInitShape } from "@bufbuild/protobuf";
import { timestampNow } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import type { Logger } from "pino";
import type { DecisionRecordSchema } from "../../../gen/scoremesh/monitor/v1/monitor_pb.js";
import type { ServingPolicy } from "../../../gen/scoremesh/policy/v1/policy_pb.js";
import { Route } from "../../../gen/scoremesh/scoring/v1/scoring_pb.js";
import { decide, type ModelCard } from "../../lib/model/index.js";
import type { DecidedRow } from "../route/row-decisions.js";
import type { RouterDeps } from "../route/router-deps.js";
import { callWorkers } from "../workers/worker-call.js";
import { inShadowSample } from "./sampler.js";

type RecordInit = MessageInitShape<typeof DecisionRecordSchema>;

/** A shadow as a router follows it. */
export interface ShadowArm {
  version: string;
  sampleRate: number;
}

/** The champion's answer to a Route call's rows, as the shadow compares against it. */
export interface ChampionAnswer {
  model: string;
  version: string;
  featureSpecHash: string;
  /** The feature vectors, one row-major matrix of `decided.length` rows. */
  matrix: Float32Array;
  decided: readonly DecidedRow[];
}

export interface ShadowScorerOptions {
  deps: Pick<RouterDeps, "workers" | "breakers" | "cards" | "monitor">;
  /** The most one shadow worker call may take, ms. */
  timeoutMs: number;
  /** The most shadow calls in flight at once; past it, samples are skipped (counted). */
  maxInFlight: number;
  /** Whether the workers have a version ready; absent: a shadow is adopted at once. */
  ready?: (model: string, version: string) => Promise<boolean>;
  log: Logger;
}

/**
 * Scores a sample of the champion's rows with the policy's shadow version, off the hot path: `offer` returns at
 * once and the call is made after the response is out (setImmediate), one attempt with its own timeout, never
 * touching the response. At most `maxInFlight` calls at a time (a slow shadow cannot pile up memory); the rest
 * are skipped. Each pair goes to the monitor as a shadow record. Failures are counted and logged once per cause.
 */
export class ShadowScorer {
  /** The shadows in use, and those named by the policy but not ready on the workers yet. */
  private readonly shadows = new Map<string, ShadowArm>();
  private readonly pending = new Map<string, ShadowArm>();
  private adopting = false;
  private timer: NodeJS.Timeout | undefined;
  private readonly causes = new Set<string>();
  inFlight = 0;
  scored = 0;
  skipped = 0;
  failed = 0;

  constructor(private readonly o: ShadowScorerOptions) {}

  /**
   * Takes in a policy's shadow (or its absence). Removing it, or changing only its rate, takes effect at once; a
   * new version is adopted once `ready` says the workers have it (as a canary is), so a version still loading
   * makes no failed calls.
   */
  follow(p: ServingPolicy): void {
    const want = p.shadow ? { version: p.shadow.version, sampleRate: p.shadow.sampleRate } : undefined;
    const had = this.shadows.get(p.model);
    const waiting = this.pending.get(p.model);
    if (want?.version === (waiting ?? had)?.version && want?.sampleRate === (waiting ?? had)?.sampleRate) return;
    this.pending.delete(p.model);
    if (!want) this.shadows.delete(p.model);
    else if (had?.version === want.version) this.shadows.set(p.model, want);
    else this.pending.set(p.model, want);
    this.o.log.info({ model: p.model, shadow: want ?? null, by: p.updatedBy }, "policy changes the shadow");
    void this.adopt();
  }

  /** Adopts each pending shadow the workers have ready; one pass at a time. */
  async adopt(): Promise<void> {
    if (this.adopting) return;
    this.adopting = true;
    try {
      for (const [model, want] of [...this.pending]) {
        if (this.o.ready && !(await this.o.ready(model, want.version))) continue;
        if (this.pending.get(model) !== want) continue; // the policy moved on meanwhile
        this.pending.delete(model);
        this.shadows.set(model, want);
        this.o.log.info({ model, version: want.version }, "shadow switched: its version is ready");
      }
    } finally {
      this.adopting = false;
    }
  }

  /** Checks pending shadows every `intervalMs` (workers load versions on their own time). */
  start(intervalMs = 250): this {
    this.timer = setInterval(() => void this.adopt(), intervalMs);
    this.timer.unref();
    return this;
  }

  close(): void {
    clearInterval(this.timer);
  }

  shadow(model: string): ShadowArm | undefined {
    return this.shadows.get(model);
  }

  /**
   * Schedules the shadow for the champion's answer; returns at once and never throws. The sample is drawn after
   * the response is out (setImmediate), so not even the hashing is on the hot path.
   */
  offer(a: ChampionAnswer): void {
    const s = this.shadows.get(a.model);
    if (!s || s.version === a.version) return;
    if (this.inFlight >= this.o.maxInFlight) {
      this.skipped += a.decided.length;
      return;
    }
    this.inFlight++;
    setImmediate(() => {
      void this.run(a, s)
        .catch((err: unknown) => this.fail(a.model, s.version, ConnectError.from(err)))
        .finally(() => this.inFlight--);
    });
  }

  private async run(a: ChampionAnswer, s: ShadowArm): Promise<void> {
    const card = this.o.deps.cards(a.model, s.version);
    if (!card || card.feature_spec_hash !== a.featureSpecHash)
      return this.fail(a.model, s.version, "the shadow version has no card here taking these feature vectors");
    const picked = a.decided.flatMap((d, i) => (inShadowSample(a.model, d.row, s.sampleRate) ? [i] : []));
    if (picked.length > 0) await this.score(a, s.version, card, picked);
  }

  private async score(a: ChampionAnswer, version: string, card: ModelCard, picked: number[]): Promise<void> {
    const cols = a.matrix.length / Math.max(1, a.decided.length);
    const matrix = new Float32Array(picked.length * cols);
    picked.forEach((i, k) => matrix.set(a.matrix.subarray(i * cols, (i + 1) * cols), k * cols));
    try {
      const scores = await callWorkers(
        this.o.deps.workers,
        { model: a.model, version, card, matrix, rows: picked.length, timeoutMs: this.o.timeoutMs },
        this.o.deps.breakers,
        { maxAttempts: 1 },
      );
      this.o.deps.monitor.enqueue(picked.map((i, k) => pairRecord(a, a.decided[i]!, version, card, scores[k]!)));
      this.scored += picked.length;
    } catch (err) {
      this.fail(a.model, version, ConnectError.from(err));
    }
  }

  /** Counts a failed shadow call; logs it the first time its cause (model, version, code) is seen. */
  private fail(model: string, version: string, why: ConnectError | string): void {
    this.failed++;
    const cause = `${model}/${version}: ${typeof why === "string" ? why : Code[why.code]}`;
    if (this.causes.has(cause)) return;
    this.causes.add(cause);
    const message = typeof why === "string" ? why : why.rawMessage;
    this.o.log.warn({ model, version, cause, err: message }, "shadow scoring failed (logged once per cause)");
  }
}

function pairRecord(a: ChampionAnswer, d: DecidedRow, version: string, card: ModelCard, score: number): RecordInit {
  return {
    requestId: d.row.requestId,
    traceId: d.row.traceId,
    model: a.model,
    modelVersion: version,
    score,
    decision: decide(score, card.thresholds),
    route: Route.PRIMARY,
    decidedAt: timestampNow(),
    featureSpecHash: a.featureSpecHash,
    tenantId: d.row.tenantId,
    shadowOf: { championVersion: a.version, championScore: d.score, championDecision: d.decision },
  };
}
