import type { NatsConnection } from "nats";
import type { Logger } from "pino";
import { closeNats, connectNats, type NatsClientIdentity } from "../../lib/nats/index.js";
import { REVIEW_BUCKET } from "./action-signing.js";
import type { ReviewDesk } from "./review-desk.js";
import { ReviewStore } from "./review-store.js";

/**
 * Connects the review desk to NATS in the background (the monitor serves while NATS is away): connects, opens
 * the review bucket (retrying every `retryMs`), attaches it, and retries the cases that wait every `retryMs`.
 */
export function connectReviewDesk(opts: {
  natsServers: string[];
  natsIdentity: NatsClientIdentity;
  desk: ReviewDesk;
  log: Logger;
  retryMs?: number;
}): { close(): Promise<void> } {
  const retryMs = opts.retryMs ?? 2000;
  let closed = false;
  let nc: NatsConnection | undefined;
  const flusher = setInterval(() => void opts.desk.flush(), retryMs);
  flusher.unref();
  const open = async () => {
    const conn = (nc = await connectNats(
      opts.natsServers,
      `monitor-reviews-${process.pid}`,
      opts.natsIdentity,
      opts.log,
    ));
    for (let failures = 0; !closed; failures++) {
      try {
        opts.desk.attach(await ReviewStore.open(conn), conn.jetstream());
        opts.log.info({ bucket: REVIEW_BUCKET }, "review cases stored in NATS");
        return;
      } catch (err) {
        if (failures === 0)
          opts.log.warn({ err, bucket: REVIEW_BUCKET }, "cannot open the review bucket yet; retrying");
        await new Promise((r) => setTimeout(r, retryMs).unref());
      }
    }
  };
  void open().catch((err: unknown) => opts.log.error({ err }, "opening the review bucket failed"));
  return {
    async close() {
      closed = true;
      clearInterval(flusher);
      if (nc) await closeNats(nc);
    },
  };
}
