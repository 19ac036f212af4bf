import type { MessageInitShape } from "@bufbuild/protobuf";
import type { ModelStatisticsSchema } from "../../gen/inference/grpc_predict_v2_pb.js";

/** A count and a total duration (kept in ms as a float; reported in ns). */
class Duration {
  count = 0;
  ms = 0;
  add(ms: number, n = 1): void {
    this.count += n;
    this.ms += ms * n;
  }
  toProto(): { count: bigint; ns: bigint } {
    return { count: BigInt(this.count), ns: BigInt(Math.round(this.ms * 1e6)) };
  }
}

/**
 * Cumulative statistics of one model version, the way Triton's statistics extension counts them: per request
 * (success, fail, queue; compute times are those of the batch the request ran in), and per batch size.
 */
export class VersionStatistics {
  lastInferenceMs = 0;
  inferenceCount = 0;
  executionCount = 0;
  readonly success = new Duration();
  readonly fail = new Duration();
  readonly queue = new Duration();
  readonly computeInput = new Duration();
  readonly computeInfer = new Duration();
  readonly computeOutput = new Duration();
  /** Requests answered wholly from the response cache, and the time to look them up and assemble them. */
  readonly cacheHit = new Duration();
  /** Requests with at least one row not in the cache, and the time spent on lookups and insertions. */
  readonly cacheMiss = new Duration();
  private readonly batches = new Map<number, { input: Duration; infer: Duration; output: Duration }>();

  /** A request arrived (wall-clock ms since the epoch). */
  arrived(epochMs = Date.now()): void {
    this.lastInferenceMs = epochMs;
  }

  /** One model execution of `rows` rows serving `requests` requests, with its three phases in ms. */
  executed(rows: number, requests: number, inputMs: number, inferMs: number, outputMs: number): void {
    this.executionCount++;
    this.inferenceCount += rows;
    this.computeInput.add(inputMs, requests);
    this.computeInfer.add(inferMs, requests);
    this.computeOutput.add(outputMs, requests);
    let b = this.batches.get(rows);
    if (!b) this.batches.set(rows, (b = { input: new Duration(), infer: new Duration(), output: new Duration() }));
    b.input.add(inputMs);
    b.infer.add(inferMs);
    b.output.add(outputMs);
  }

  /** Time spent running the model, each execution counted once (input, inference and output phases), in ms. */
  executionMs(): number {
    let ms = 0;
    for (const b of this.batches.values()) ms += b.input.ms + b.infer.ms + b.output.ms;
    return ms;
  }

  toProto(name: string, version: string): MessageInitShape<typeof ModelStatisticsSchema> {
    return {
      name,
      version,
      lastInference: BigInt(this.lastInferenceMs),
      inferenceCount: BigInt(this.inferenceCount),
      executionCount: BigInt(this.executionCount),
      inferenceStats: {
        success: this.success.toProto(),
        fail: this.fail.toProto(),
        queue: this.queue.toProto(),
        computeInput: this.computeInput.toProto(),
        computeInfer: this.computeInfer.toProto(),
        computeOutput: this.computeOutput.toProto(),
        cacheHit: this.cacheHit.toProto(),
        cacheMiss: this.cacheMiss.toProto(),
      },
      batchStats: [...this.batches.entries()]
        .sort((a, b) => a[0] - b[0])
        .map(([size, b]) => ({
          batchSize: BigInt(size),
          computeInput: b.input.toProto(),
          computeInfer: b.infer.toProto(),
          computeOutput: b.output.toProto(),
        })),
      memoryUsage: [],
    };
  }
}
