import type { ChannelCredentials } from "@grpc/grpc-js";
import { createClient } from "@connectrpc/connect";
import type { Logger } from "pino";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { MonitorService, type DecisionRecordSchema } from "../../gen/scoremesh/monitor/v1/monitor_pb.js";
import { createGrpcTransport } from "../lib/rpc/index.js";

type RecordInit = MessageInitShape<typeof DecisionRecordSchema>;

/**
 * Sends decision records to the monitor off the hot path: records are queued and sent in batches every
 * `flushMs`. When the monitor is slow or away, the queue holds up to `queueMax` records; past that, and for
 * batches the monitor refuses, records are counted in `dropped` (and logged), never silently lost.
 */
export class MonitorSink {
  private queue: RecordInit[] = [];
  private sending = false;
  private readonly timer: NodeJS.Timeout;
  private readonly transport;
  private readonly client;
  sent = 0;
  dropped = 0;

  constructor(
    address: string,
    private readonly source: string,
    private readonly opts: {
      credentials: ChannelCredentials;
      flushMs: number;
      queueMax: number;
      batchMax?: number;
      log: Logger;
    },
  ) {
    this.transport = createGrpcTransport({ address, credentials: opts.credentials });
    this.client = createClient(MonitorService, this.transport);
    this.timer = setInterval(() => void this.flush(), opts.flushMs);
    this.timer.unref();
  }

  enqueue(records: RecordInit[]): void {
    const room = this.opts.queueMax - this.queue.length;
    if (records.length > room) {
      this.drop(records.length - Math.max(0, room), "queue full");
      records = records.slice(0, Math.max(0, room));
    }
    for (const r of records) this.queue.push(r);
  }

  private drop(n: number, why: string): void {
    this.dropped += n;
    this.opts.log.warn(
      { dropped: n, droppedTotal: this.dropped, why },
      "decision records not delivered to the monitor",
    );
  }

  /** Sends what is queued; resolves when the queue is empty or a send failed. */
  async flush(): Promise<void> {
    if (this.sending) return;
    this.sending = true;
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, this.opts.batchMax ?? 1000);
        try {
          await this.client.record({ source: this.source, records: batch }, { timeoutMs: 2000 });
          this.sent += batch.length;
        } catch (err) {
          // Put the batch back for the next flush while there is room; it is dropped only if the queue is full.
          const room = this.opts.queueMax - this.queue.length;
          this.queue.unshift(...batch.slice(0, Math.max(0, room)));
          if (batch.length > room) this.drop(batch.length - Math.max(0, room), String((err as Error).message));
          break;
        }
      }
    } finally {
      this.sending = false;
    }
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
    if (this.queue.length > 0) this.drop(this.queue.length, "shutting down with the monitor unreachable");
    this.transport.close();
  }
}
