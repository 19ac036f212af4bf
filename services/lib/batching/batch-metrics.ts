import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import type { BatcherStats } from "./batcher.js";

/** Batch sizes in rows: powers of two up to 1,024. */
const BATCH_ROWS_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024];

/** What a watched batcher reports at a scrape: its stats per key (a model, a model version). */
export type BatchStatsSource = () => Record<string, BatcherStats>;

/**
 * Metrics of batching, per `batcher` (a hop's downstream call or a model worker's queue): the size of every batch
 * that ran (`scoremesh_batch_size_rows`, a histogram observed through `onBatch`, O(1)), and, read from the
 * batchers' stats at each scrape (nothing on the hot path), the rows queued (`scoremesh_batch_queue_rows`), the
 * batches in flight (`scoremesh_batch_in_flight`) and the requests refused (`scoremesh_batch_refused_total`, by
 * reason: shed, expired, cancelled), by batcher and key.
 *
 * @example
 *   const m = new BatchMetrics(registry);
 *   const hop = m.batcher("scoremesh.router.v1.RouterService/Route");
 *   const b = new HopBatcher(send, { name, onBatch: hop.onBatch });
 *   hop.watch(() => b.stats());
 */
export class BatchMetrics {
  private readonly sizes: Histogram<"batcher">;
  private readonly sources = new Map<string, BatchStatsSource[]>();

  constructor(registry: Registry) {
    this.sizes = new Histogram({
      name: "scoremesh_batch_size_rows",
      help: "Rows in each batch that ran, by batcher (a hop's downstream call, a model worker's queue).",
      labelNames: ["batcher"] as const,
      buckets: BATCH_ROWS_BUCKETS,
      registers: [registry],
    });
    const each = (fn: (batcher: string, key: string, s: BatcherStats) => void) => {
      for (const [batcher, sources] of this.sources)
        for (const source of sources) for (const [key, s] of Object.entries(source())) fn(batcher, key, s);
    };
    new Gauge({
      name: "scoremesh_batch_queue_rows",
      help: "Rows waiting in a batcher's queue, by batcher and key.",
      labelNames: ["batcher", "key"] as const,
      registers: [registry],
      collect() {
        this.reset();
        each((batcher, key, s) => this.inc({ batcher, key }, s.queuedRows));
      },
    });
    new Gauge({
      name: "scoremesh_batch_in_flight",
      help: "Batches running at once, by batcher and key.",
      labelNames: ["batcher", "key"] as const,
      registers: [registry],
      collect() {
        this.reset();
        each((batcher, key, s) => this.inc({ batcher, key }, s.inFlight));
      },
    });
    new Counter({
      name: "scoremesh_batch_refused_total",
      help: "Requests a batcher did not run: shed (queue full), expired (deadline passed in the queue), cancelled.",
      labelNames: ["batcher", "key", "reason"] as const,
      registers: [registry],
      collect() {
        this.reset();
        each((batcher, key, s) => {
          this.inc({ batcher, key, reason: "shed" }, s.shed);
          this.inc({ batcher, key, reason: "expired" }, s.expired);
          this.inc({ batcher, key, reason: "cancelled" }, s.cancelled);
        });
      },
    });
  }

  /** The hooks of one batcher: `onBatch` for its options, `watch` once it exists (several sources may share a name). */
  batcher(name: string): { onBatch: (rows: number) => void; watch: (source: BatchStatsSource) => void } {
    const child = this.sizes.labels({ batcher: name });
    return {
      onBatch: (rows) => child.observe(rows),
      watch: (source) => {
        const list = this.sources.get(name) ?? [];
        list.push(source);
        this.sources.set(name, list);
      },
    };
  }
}
