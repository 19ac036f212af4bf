import { createInbox, headers, type KV, type Msg, type MsgHdrs, type NatsConnection, type Subscription } from "nats";

/** What became of one entry: written; already there (a compare-and-set refused it); or not known to be written. */
export type CreateResult = "created" | "exists" | "failed";

/** JetStream's error code for a publish whose expected last subject sequence did not match. */
const WRONG_LAST_SEQUENCE = 10071;
const text = new TextDecoder();

/** The parts of nats.js's KV bucket this needs (public on its `Bucket`, not on the `KV` interface). */
interface BucketSubjects {
  encodeKey(key: string): string;
  validateKey(key: string): void;
  subjectForKey(key: string, edit?: boolean): string;
}

/**
 * Creates many KV entries in one go: each entry is one JetStream publish of the key's subject with
 * `Nats-Expected-Last-Subject-Sequence: 0` (what `kv.create` sends), its PubAck addressed to this writer's own
 * inbox (`<inbox>.<n>`, one subscription for all), and one timer bounds the whole batch. `kv.create` makes a
 * request per entry instead (an inbox registration, a timer, three error objects for async stack traces and a
 * chain of promises each), which is most of a monitor's CPU per decision at a low rate.
 *
 * An entry the server refused because the key exists comes back "exists" (`kv.create` would then look for a
 * deleted entry to overwrite: the caller may do that with `kv.create`); no answer within `waitMs`, or any other
 * error, is "failed" (it may still have been written: retry with `kv.create`, which tells).
 *
 * @example
 *   const creates = new KvCreateMany(nc, kv);
 *   const results = await creates.createAll([["k1", bytes1], ["k2", bytes2]], 1000);
 */
export class KvCreateMany {
  private readonly inbox: string;
  private readonly sub: Subscription;
  private readonly waiting = new Map<string, (r: CreateResult) => void>();
  private readonly expectNew: MsgHdrs;
  private next = 0;

  constructor(
    private readonly nc: NatsConnection,
    private readonly kv: KV,
  ) {
    const prefix = (nc as { options?: { inboxPrefix?: string } }).options?.inboxPrefix;
    this.inbox = createInbox(prefix);
    this.sub = nc.subscribe(`${this.inbox}.*`, { callback: (err, msg) => err || this.answer(msg) });
    this.expectNew = headers();
    this.expectNew.set("Nats-Expected-Last-Subject-Sequence", "0");
  }

  /** Creates each [key, value]; resolves with one result per entry, in order, within about `waitMs`. */
  createAll(entries: readonly (readonly [string, Uint8Array])[], waitMs: number): Promise<CreateResult[]> {
    const bucket = this.kv as unknown as BucketSubjects;
    const results: CreateResult[] = entries.map(() => "failed");
    if (entries.length === 0 || this.sub.isClosed()) return Promise.resolve(results);
    return new Promise((resolve) => {
      let left = entries.length;
      const tokens: string[] = [];
      const done = () => {
        clearTimeout(timer);
        for (const t of tokens) this.waiting.delete(t);
        resolve(results);
      };
      const timer = setTimeout(done, waitMs);
      entries.forEach(([key, value], i) => {
        const token = String(this.next++);
        try {
          const ek = bucket.encodeKey(key);
          bucket.validateKey(ek);
          this.nc.publish(bucket.subjectForKey(ek, true), value, {
            headers: this.expectNew,
            reply: `${this.inbox}.${token}`,
          });
        } catch {
          if (--left === 0) done();
          return;
        }
        tokens.push(token);
        this.waiting.set(token, (r) => {
          results[i] = r;
          if (--left === 0) done();
        });
      });
    });
  }

  private answer(msg: Msg): void {
    const token = msg.subject.slice(this.inbox.length + 1);
    const settle = this.waiting.get(token);
    if (!settle) return; // late: its batch gave up on it
    this.waiting.delete(token);
    settle(resultOf(msg));
  }

  close(): void {
    this.sub.unsubscribe();
  }
}

/** A PubAck: `{"stream":..,"seq":..}`, or `{"error":{"err_code":..}}`; a status message (e.g. 503) is a failure. */
function resultOf(msg: Msg): CreateResult {
  if (msg.headers?.hasError || msg.data.length === 0) return "failed";
  try {
    const ack = JSON.parse(text.decode(msg.data)) as { seq?: number; error?: { err_code?: number } };
    if (ack.error) return ack.error.err_code === WRONG_LAST_SEQUENCE ? "exists" : "failed";
    return typeof ack.seq === "number" ? "created" : "failed";
  } catch {
    return "failed";
  }
}
