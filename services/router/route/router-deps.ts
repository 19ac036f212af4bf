import type { Logger } from "pino";
import type { ModelCard } from "../../lib/model/index.js";
import type { AuditTrail } from "../../lib/audit/index.js";
import type { BreakerBoard } from "../breakers/breakers.js";
import type { ChampionTable } from "../champions.js";
import type { LightFirst } from "../light-first/cascade-table.js";
import type { Reasoner } from "../explain/reasoner.js";
import type { MonitorSink } from "../monitor-sink.js";
import type { SegmentTable } from "../segments/segment-table.js";
import type { ShadowScorer } from "../shadow/shadow-scorer.js";
import type { RulesScorecard } from "../../lib/model/index.js";
import type { WorkerBatcher } from "../workers/worker-batcher.js";
import type { RetryOptions } from "../workers/worker-call.js";
import type { WorkerPool } from "../workers/worker-pool.js";

/** What the Route handler works with: its neighbours (workers, monitor) and the router's own state and settings. */
export interface RouterDeps {
  /** Reason codes of decisions; absent: decisions carry none. */
  reasons?: Pick<Reasoner, "forRow">;
  /** The versions served: the champion, and (where set) the canary and why a stand-in serves. */
  champions: Pick<ChampionTable, "champion"> & Partial<Pick<ChampionTable, "canary" | "standInFor">>;
  cards: (model: string, version: string) => ModelCard | undefined;
  workers: Pick<WorkerPool, "candidates">;
  monitor: Pick<MonitorSink, "enqueue">;
  /** The durable audit trail (ROUTER_AUDIT_SPOOL_DIR): each decision's record is spooled before the answer; absent: none. */
  audit?: Pick<AuditTrail, "record">;
  /** The KV revision of the model's serving policy last taken in, for the audit record; absent: 0 (unknown). */
  policyRevision?: (model: string) => bigint | undefined;
  workerTimeoutMs: number;
  /** Batching across the hop (ROUTER_BATCHING); absent: one ModelInfer per Route call. */
  batcher?: Pick<WorkerBatcher, "score">;
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
  /** The policy's shadow: offered the champion's answers, scores a sample off the hot path; absent: none. */
  shadow?: Pick<ShadowScorer, "offer">;
  /** The model's light → heavy cascade (light-first/): the light version decides the rows it is sure of. */
  lightFirst?: (model: string) => LightFirst | undefined;
  /** The policies' segment rules (evaluated before the canary); absent: none. */
  segments?: Pick<SegmentTable, "rulesFor">;
  log?: Logger;
}
