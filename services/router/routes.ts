import { Code, ConnectError, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { timestampNow } from "@bufbuild/protobuf/wkt";
import type { RowDecisionSchema } from "../../gen/scoremesh/decision/v1/decision_pb.js";
import { RouterService } from "../../gen/scoremesh/router/v1/router_pb.js";
import { Decision, Route } from "../../gen/scoremesh/scoring/v1/scoring_pb.js";
import type { DecisionRecordSchema } from "../../gen/scoremesh/monitor/v1/monitor_pb.js";
import { decide, type ModelCard } from "../lib/model/index.js";
import type { RulesScorecard } from "./rules-scorecard.js";
import { activeTraceId } from "../lib/rpc/index.js";
import type { Logger } from "pino";
import type { BreakerBoard } from "./breakers/breakers.js";
import { cascade, unanswered } from "./cascade.js";
import type { ChampionTable } from "./champions.js";
import type { WorkerPool } from "./workers/worker-pool.js";
import type { MonitorSink } from "./monitor-sink.js";
import type { Reasoner } from "./explain/reasoner.js";
import { callWorkers, type RetryOptions } from "./workers/worker-call.js";
import type { WorkerBatcher } from "./workers/worker-batcher.js";

/** The version the router reports for a decision made by the rules baseline. */
export const RULES_VERSION = "rules";

export interface RouterDeps {
  /** Reason codes of decisions; absent: decisions carry none. */
  reasons?: Reasoner;
  champions: ChampionTable;
  cards: (model: string, version: string) => ModelCard | undefined;
  workers: WorkerPool;
  monitor: MonitorSink;
  workerTimeoutMs: number;
  /** Batching across the hop (ROUTER_BATCHING); absent: one ModelInfer per Route call. */
  batcher?: WorkerBatcher;
  /** Circuit breakers per worker and version; absent: none. */
  breakers?: BreakerBoard;
  /** Retries on another worker, backoff and budget (when not batching; the batcher has its own); absent: defaults. */
  retry?: RetryOptions;
  /** The fallback model version of a model; undefined: no fallback model step. */
  fallbackVersion?: (model: string) => string | undefined;
  /** The rules baseline of a model; undefined: none (the cascade's last error reaches the caller). */
  rules?: (model: string) => RulesScorecard | undefined;
  /** Time kept back for the rules, ms. */
  rulesReserveMs?: number;
  /** A degraded decision within this distance of a threshold goes to review. */
  reviewBand?: number;
  /** The deadline when the caller sent none, ms. */
  defaultTimeoutMs?: number;
  log?: Logger;
}

/**
 * Maps a score to a decision; a degraded one (fallback model or rules) whose score lies within `band` of a
 * threshold goes to review: the low-confidence band.
 */
export function decideDegraded(score: number, t: ModelCard["thresholds"], band: number): Decision {
  if (Math.abs(score - t.review) < band || Math.abs(score - t.decline) < band) return Decision.REVIEW;
  return decide(score, t);
}

export function routerRoutes(deps: RouterDeps): Partial<ServiceImpl<typeof RouterService>> {
  let degradedCalls = 0;
  let lastDegradedLog = -Infinity;
  return {
    async route(req, ctx) {
      const started = performance.now();
      const version = deps.champions.champion(req.model);
      if (version === undefined) {
        throw new ConnectError(`no serving policy for model ${JSON.stringify(req.model)} yet`, Code.Unavailable);
      }
      const card = deps.cards(req.model, version);
      if (!card) throw new ConnectError(`model ${req.model} version ${version} has no card here`, Code.Internal);
      if (req.featureSpecHash !== card.feature_spec_hash) {
        throw new ConnectError(
          `feature vectors were built with spec ${req.featureSpecHash}; ${req.model} version ${version} was trained with ${card.feature_spec_hash}`,
          Code.FailedPrecondition,
        );
      }
      const cols = card.features.length;
      const rows = req.rows.length;
      if (rows === 0) return { decisions: [] };
      const matrix = new Float32Array(rows * cols);
      for (let i = 0; i < rows; i++) {
        const f = req.rows[i]!.features;
        if (f.length !== cols) {
          throw new ConnectError(`row ${i}: ${f.length} features, ${req.model} version ${version} takes ${cols}`, Code.InvalidArgument);
        }
        matrix.set(f, i * cols);
      }

      // The cascade: champion → fallback model → rules.
      let fallback = deps.fallbackVersion?.(req.model);
      const fallbackCard = fallback === undefined ? undefined : deps.cards(req.model, fallback);
      if (!fallbackCard || fallbackCard.feature_spec_hash !== req.featureSpecHash || fallbackCard.features.length !== cols) fallback = undefined;
      const rules = deps.rules?.(req.model);
      const remaining = ctx.timeoutMs() ?? deps.defaultTimeoutMs ?? deps.workerTimeoutMs;
      if (remaining <= 0) throw new ConnectError("the deadline passed before a model worker was called", Code.DeadlineExceeded);
      const result = await cascade(
        {
          primary: version,
          fallback,
          remainingMs: remaining,
          workerTimeoutMs: deps.workerTimeoutMs,
          rulesReserveMs: rules ? (deps.rulesReserveMs ?? 25) : 0,
          signal: ctx.signal,
        },
        (v, timeoutMs) => infer(deps, ctx, req.model, v, deps.cards(req.model, v)!, matrix, rows, timeoutMs),
      );
      if (result.route === Route.RULES && !rules) {
        throw unanswered(req.model, result.errors);
      }
      if (result.route !== Route.PRIMARY) {
        degradedCalls++;
        // At most one line a second: a mesh without workers answers thousands of calls by the rules.
        if (performance.now() - lastDegradedLog >= 1000) {
          lastDegradedLog = performance.now();
          deps.log?.warn(
            { model: req.model, route: Route[result.route], degradedCalls, errors: result.errors.map((e) => `${Code[e.code]}: ${e.rawMessage}`) },
            "degraded decisions: the champion could not answer",
          );
        }
      }

      const latencyMs = performance.now() - started;
      const traceId = activeTraceId();
      const decidedAt = timestampNow();
      const degraded = result.route !== Route.PRIMARY;
      const usedVersion = result.route === Route.RULES ? RULES_VERSION : result.version;
      const usedCard = result.route === Route.FALLBACK_MODEL ? fallbackCard! : card;
      const band = deps.reviewBand ?? 0;
      const decisions: MessageInitShape<typeof RowDecisionSchema>[] = [];
      const records: MessageInitShape<typeof DecisionRecordSchema>[] = [];
      for (let i = 0; i < rows; i++) {
        const row = req.rows[i]!;
        let score: number;
        let decision: Decision;
        let reasons: ReturnType<Reasoner["forRow"]> = [];
        if (result.route === Route.RULES) {
          score = rules!.score(row.features).score;
          decision = decideDegraded(score, rules!.thresholds(), band);
        } else {
          score = result.scores[i]!;
          decision = degraded ? decideDegraded(score, usedCard.thresholds, band) : decide(score, usedCard.thresholds);
          reasons = deps.reasons?.forRow(req.model, usedVersion, usedCard, row.features, decision, row.explain) ?? [];
        }
        decisions.push({
          requestId: row.requestId,
          modelVersion: usedVersion,
          score,
          decision,
          route: result.route,
          degraded,
          imputedFeatures: row.imputed,
          reasons,
        });
        records.push({
          requestId: row.requestId,
          // Rows of concurrent public calls share a Route call: each keeps the trace of its own call.
          traceId: row.traceId || traceId,
          model: req.model,
          modelVersion: usedVersion,
          score,
          decision,
          route: result.route,
          degraded,
          latencyMs,
          decidedAt,
          imputed: row.imputed,
          segment: row.segment,
          featureSpecHash: req.featureSpecHash,
          reasons,
        });
      }
      deps.monitor.enqueue(records);
      return { decisions };
    },
  };
}

/**
 * Scores one Route call's rows with one model version: through the batcher when batching across the hop is on
 * (rows of concurrent calls share one ModelInfer), otherwise with a ModelInfer of their own.
 */
async function infer(
  deps: RouterDeps,
  ctx: HandlerContext,
  model: string,
  version: string,
  card: ModelCard,
  matrix: Float32Array,
  rows: number,
  timeoutMs: number,
): Promise<Float32Array> {
  if (deps.batcher) return deps.batcher.score(model, version, card, matrix, rows, { timeoutMs, signal: ctx.signal });
  return callWorkers(
    deps.workers,
    { model, version, card, matrix, rows, timeoutMs, workerTimeoutMs: deps.workerTimeoutMs, signal: ctx.signal },
    deps.breakers,
    deps.retry,
  );
}
