import { fromBinary, toBinary } from "@bufbuild/protobuf";
import type { KV, NatsConnection } from "nats";
import { ReviewCaseSchema, type ReviewCase } from "../../../gen/scoremesh/monitor/v1/monitor_pb.js";
import { isWrongRevision, kvKeys, withReplicas } from "../../lib/nats/index.js";
import { REVIEW_BUCKET } from "./action-signing.js";

/** A case as stored, with the KV revision a compare-and-set must name. */
export interface StoredCase {
  c: ReviewCase;
  revision: number;
}

/**
 * The durable review cases: the KV bucket scoremesh_reviews (file storage, NATS_REPLICAS copies), one
 * ReviewCase (protobuf binary) per case id. Every write is a compare-and-set, so two monitor replicas neither
 * open a case twice (create fails when the key exists) nor overwrite each other's claim (update names the
 * revision read).
 */
export class ReviewStore {
  private constructor(private readonly kv: KV) {}

  static async open(nc: NatsConnection): Promise<ReviewStore> {
    return new ReviewStore(await nc.jetstream().views.kv(REVIEW_BUCKET, withReplicas({ history: 1 })));
  }

  /** Stores a new case; false when it exists already (opened by this or another replica, or a re-sent batch). */
  async create(c: ReviewCase): Promise<boolean> {
    try {
      await this.kv.create(c.caseId, toBinary(ReviewCaseSchema, c));
      return true;
    } catch (err) {
      if (isWrongRevision(err)) return false;
      throw err;
    }
  }

  async get(caseId: string): Promise<StoredCase | undefined> {
    if (!/^[0-9a-f]{16}$/.test(caseId)) return undefined;
    const e = await this.kv.get(caseId);
    if (!e || e.operation !== "PUT") return undefined;
    return { c: fromBinary(ReviewCaseSchema, e.value), revision: e.revision };
  }

  /** Writes `c` if the case is still at `revision`; false when another writer moved it first. */
  async update(c: ReviewCase, revision: number): Promise<boolean> {
    try {
      await this.kv.update(c.caseId, toBinary(ReviewCaseSchema, c), revision);
      return true;
    } catch (err) {
      if (isWrongRevision(err)) return false;
      throw err;
    }
  }

  /** Every case (read key by key). */
  async list(): Promise<ReviewCase[]> {
    const found = await Promise.all((await kvKeys(this.kv)).map((k) => this.get(k)));
    return found.filter((s): s is StoredCase => s !== undefined).map((s) => s.c);
  }
}
