import { Code, ConnectError, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { timestampNow } from "@bufbuild/protobuf/wkt";
import { RouterService, type RowDecisionSchema } from "../../gen/scoremesh/router/v1/router_pb.js";
import { Route } from "../../gen/scoremesh/scoring/v1/scoring_pb.js";
import type { DecisionRecordSchema } from "../../gen/scoremesh/monitor/v1/monitor_pb.js";
import { decide, type ModelCard } from "../lib/model-card.js";
import { activeTraceId } from "../lib/rpc/tracing.js";
import type { ChampionTable } from "./champions.js";
import type { WorkerPool } from "./worker-pool.js";
import type { MonitorSink } from "./monitor-sink.js";
import type { Reasoner } from "./reasoner.js";
import { callWorkers } from "./worker-call.js";
import type { WorkerBatcher } from "./worker-batcher.js";

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
}

export function routerRoutes(deps: RouterDeps): Partial<ServiceImpl<typeof RouterService>> {
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
      const scores = await infer(deps, ctx, req.model, version, card, matrix, rows);
      const latencyMs = performance.now() - started;
      const traceId = activeTraceId();
      const decidedAt = timestampNow();
      const decisions: MessageInitShape<typeof RowDecisionSchema>[] = [];
      const records: MessageInitShape<typeof DecisionRecordSchema>[] = [];
      for (let i = 0; i < rows; i++) {
        const row = req.rows[i]!;
        const score = scores[i]!;
        const decision = decide(score, card.thresholds);
        const reasons = deps.reasons?.forRow(req.model, version, card, row.features, decision, row.explain) ?? [];
        decisions.push({
          requestId: row.requestId,
          modelVersion: version,
          score,
          decision,
          route: Route.PRIMARY,
          degraded: false,
          imputedFeatures: row.imputed,
          reasons,
        });
        records.push({
          requestId: row.requestId,
          traceId,
          model: req.model,
          modelVersion: version,
          score,
          decision,
          route: Route.PRIMARY,
          degraded: false,
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
 * Scores one Route call's rows: through the batcher when batching across the hop is on (rows of concurrent
 * calls share one ModelInfer), otherwise with a ModelInfer of their own.
 */
async function infer(
  deps: RouterDeps,
  ctx: HandlerContext,
  model: string,
  version: string,
  card: ModelCard,
  matrix: Float32Array,
  rows: number,
): Promise<Float32Array> {
  const remaining = ctx.timeoutMs();
  const timeoutMs = remaining === undefined ? deps.workerTimeoutMs : Math.min(remaining, deps.workerTimeoutMs);
  if (timeoutMs <= 0) throw new ConnectError("the deadline passed before a model worker was called", Code.DeadlineExceeded);
  if (deps.batcher) return deps.batcher.score(model, version, card, matrix, rows, { timeoutMs, signal: ctx.signal });
  return callWorkers(deps.workers, { model, version, card, matrix, rows, timeoutMs, signal: ctx.signal });
}
