import { Code, ConnectError, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { timestampNow } from "@bufbuild/protobuf/wkt";
import { RouterService, type RowDecisionSchema } from "../../gen/scoremesh/router/v1/router_pb.js";
import { Route } from "../../gen/scoremesh/scoring/v1/scoring_pb.js";
import type { DecisionRecordSchema } from "../../gen/scoremesh/monitor/v1/monitor_pb.js";
import { decide, type ModelCard } from "../lib/model-card.js";
import { activeTraceId } from "../lib/rpc/tracing.js";
import { copyFloats } from "../lib/tensor-bytes.js";
import type { ChampionTable } from "./champions.js";
import type { WorkerPool } from "./worker-pool.js";
import type { MonitorSink } from "./monitor-sink.js";

/** Codes on which the router tries the next worker: the call did not reach a model that could answer. */
const FAILOVER_CODES = new Set([Code.Unavailable, Code.ResourceExhausted, Code.Aborted]);

export interface RouterDeps {
  champions: ChampionTable;
  cards: (model: string, version: string) => ModelCard | undefined;
  workers: WorkerPool;
  monitor: MonitorSink;
  workerTimeoutMs: number;
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
        decisions.push({
          requestId: row.requestId,
          modelVersion: version,
          score,
          decision,
          route: Route.PRIMARY,
          degraded: false,
          imputedFeatures: row.imputed,
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
        });
      }
      deps.monitor.enqueue(records);
      return { decisions };
    },
  };
}

async function infer(
  deps: RouterDeps,
  ctx: HandlerContext,
  model: string,
  version: string,
  card: ModelCard,
  matrix: Float32Array,
  rows: number,
): Promise<Float32Array> {
  const input = card.onnx.inputs[0]!;
  let last: ConnectError | undefined;
  for (const ep of deps.workers.candidates()) {
    const remaining = ctx.timeoutMs();
    const timeoutMs = remaining === undefined ? deps.workerTimeoutMs : Math.min(remaining, deps.workerTimeoutMs);
    if (timeoutMs <= 0) break;
    try {
      const res = await ep.client.modelInfer(
        {
          modelName: model,
          modelVersion: version,
          inputs: [{ name: input.name, datatype: "FP32", shape: [BigInt(rows), BigInt(card.features.length)] }],
          outputs: [{ name: card.onnx.score_output }],
          rawInputContents: [new Uint8Array(matrix.buffer, matrix.byteOffset, matrix.byteLength)],
        },
        { timeoutMs, signal: ctx.signal },
      );
      const raw = res.rawOutputContents[0];
      if (!raw || raw.byteLength !== rows * 4) {
        throw new ConnectError(`worker ${ep.address} returned ${raw?.byteLength ?? 0} bytes for ${rows} scores`, Code.Internal);
      }
      return copyFloats(raw, rows);
    } catch (err) {
      last = ConnectError.from(err);
      if (!FAILOVER_CODES.has(last.code) || ctx.signal.aborted) break;
    }
  }
  throw last ?? new ConnectError("no model worker could answer in time", Code.Unavailable);
}
