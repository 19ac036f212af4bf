import { create } from "@bufbuild/protobuf";
import { timestampNow } from "@bufbuild/protobuf/wkt";
import type { KV, NatsConnection } from "nats";
import { ServingPolicySchema, type ServingPolicy } from "../../../gen/scoremesh/policy/v1/policy_pb.js";
import { watchKv } from "./kv-watch.js";
import { decodePolicy, encodePolicy, POLICY_SCHEMA_VERSION } from "./policy-codec.js";

/** The JetStream KV bucket that holds one ServingPolicy per model family, keyed by the model's name. */
export const POLICY_BUCKET = "scoremesh_policy";

/**
 * The serving policies of every model family, kept in a JetStream KV bucket so that every replica sees a
 * change at once and a replica that starts late reads the current value. Values are protobuf JSON of
 * scoremesh.policy.v1.ServingPolicy with a schema version (see policy-codec.ts), so `nats kv get scoremesh_policy
 * credit-default` is readable.
 */
export class PolicyStore {
  private constructor(
    private readonly nc: NatsConnection,
    private readonly kv: KV,
  ) {}

  static async open(nc: NatsConnection): Promise<PolicyStore> {
    const kv = await nc.jetstream().views.kv(POLICY_BUCKET, { history: 16 });
    return new PolicyStore(nc, kv);
  }

  async get(model: string): Promise<ServingPolicy | undefined> {
    const e = await this.kv.get(model);
    if (!e || e.operation !== "PUT") return undefined;
    return decodePolicy(e.string());
  }

  /** Writes a policy (last writer wins). */
  async put(
    policy: Omit<ServingPolicy, "$typeName" | "updatedAt" | "schemaVersion"> & { updatedBy: string },
  ): Promise<ServingPolicy> {
    const p = create(ServingPolicySchema, {
      ...policy,
      updatedAt: timestampNow(),
      schemaVersion: POLICY_SCHEMA_VERSION,
    });
    await this.kv.put(p.model, encodePolicy(p));
    return p;
  }

  /** Writes a policy only if the model has none yet (atomic: replicas racing at start-up write it once). */
  async seed(model: string, championVersion: string, updatedBy: string): Promise<boolean> {
    const p = create(ServingPolicySchema, {
      model,
      championVersion,
      updatedBy,
      updatedAt: timestampNow(),
      schemaVersion: POLICY_SCHEMA_VERSION,
    });
    try {
      await this.kv.create(model, encodePolicy(p));
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Calls `onPolicy` with the current policy of every model, then with every change, until `close()`; after
   * NATS was away, with the current policy of every model again (see `watchKv`). Resolves once the current
   * values have been delivered.
   */
  async watch(onPolicy: (p: ServingPolicy) => void, onError: (err: unknown) => void): Promise<{ close(): void }> {
    return watchKv({
      nc: this.nc,
      kv: this.kv,
      bucket: POLICY_BUCKET,
      decode: decodePolicy,
      onValue: onPolicy,
      onError,
    });
  }

  async models(): Promise<string[]> {
    const out: string[] = [];
    for await (const k of await this.kv.keys()) out.push(k);
    return out.sort();
  }
}
