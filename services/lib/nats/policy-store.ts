import { isWrongRevision } from "./kv-errors.js";
import { create } from "@bufbuild/protobuf";
import { timestampNow } from "@bufbuild/protobuf/wkt";
import type { KV, NatsConnection } from "nats";
import { ServingPolicySchema, type ServingPolicy } from "../../../gen/scoremesh/policy/v1/policy_pb.js";
import { KvValueError } from "./kv-codec.js";
import { watchKv } from "./kv-watch.js";
import { withReplicas } from "./bucket-replicas.js";
import { decodePolicy, encodePolicy, policySchemaVersion } from "./policy-codec.js";
import { signValue, verifyValue, type Signer } from "./signed-value.js";
import type { TrustedOperators } from "./trusted-operators.js";
import { kvKeys } from "./kv-keys.js";

/** The JetStream KV bucket that holds one ServingPolicy per model family, keyed by the model's name. */
export const POLICY_BUCKET = "scoremesh_policy";

/** The bucket's options: whoever creates it (the control identity, at launch) creates it with these. */
export const POLICY_BUCKET_OPTIONS = { history: 16 } as const;

/** A compare-and-set write that lost: someone else wrote the model's policy after it was read. */
export class PolicyConflictError extends Error {
  override readonly name = "PolicyConflictError";
}

/** A model's policy as the bucket holds it now, for a read-modify-write. */
export interface PolicyAt {
  /** The verified policy; undefined when the key has none or its value was refused (see `refused`). */
  policy?: ServingPolicy;
  /** Why the value was refused (unreadable, unsigned, untrusted signer); undefined when it was not. */
  refused?: string;
  /** The key's revision, to write at (0: the key has no value). */
  revision: number;
}

/** Whose signatures a reader accepts, and (for a writer) the operator key it signs with. */
export interface PolicyTrust {
  trusted: TrustedOperators;
  signer?: Signer;
}

/** What a writer gives; updated_at, updated_by (the signer's name) and schema_version are filled in. */
export type PolicyFields = Omit<
  ServingPolicy,
  "$typeName" | "updatedAt" | "updatedBy" | "schemaVersion" | "segments" | "pools"
> & {
  /** The segment rules, in order; absent: none. */
  segments?: ServingPolicy["segments"];
  /** The worker pool rules; absent: none. */
  pools?: ServingPolicy["pools"];
};

/**
 * Every writable field of a policy: what a change starts from, so that a command changing one part (the canary,
 * the shadow) keeps every other part, including parts added after the command was written.
 */
export function keptFields(p: ServingPolicy): PolicyFields {
  const { $typeName, updatedAt, updatedBy, schemaVersion, ...fields } = p;
  void [$typeName, updatedAt, updatedBy, schemaVersion];
  return fields;
}

/**
 * A policy value as readers take it: verified against the trusted operators (see signed-value.ts), decoded, its
 * model matching its key, and `updatedBy` set to the verified signer's operator name (whatever the payload says).
 * Throws `KvValueError` (a `SignatureError` for signature problems).
 */
export function readSignedPolicy(text: string, key: string, trusted: TrustedOperators): ServingPolicy {
  const v = verifyValue(text, { bucket: POLICY_BUCKET, key }, trusted);
  const p = decodePolicy(v.payload);
  if (p.model !== key) throw new KvValueError(`serving policy: under key ${key} but for model ${p.model}`);
  p.updatedBy = v.operator;
  return p;
}

/** A policy signed by `signer`, as the bucket keeps it; returns the text and the policy as readers will see it. */
export function writeSignedPolicy(
  fields: PolicyFields,
  signer: Signer,
  trusted: TrustedOperators,
): { text: string; policy: ServingPolicy } {
  const updatedBy = trusted.get(signer.publicKey) ?? signer.publicKey;
  const policy = create(ServingPolicySchema, {
    ...fields,
    updatedBy,
    updatedAt: timestampNow(),
    schemaVersion: policySchemaVersion({ segments: fields.segments ?? [] }),
  });
  const text = signValue(encodePolicy(policy), { bucket: POLICY_BUCKET, key: policy.model }, signer);
  return { text, policy };
}

/**
 * The serving policies of every model family, kept in a JetStream KV bucket so that every replica sees a
 * change at once and a replica that starts late reads the current value. Each value is a ServingPolicy (protobuf
 * JSON with a schema version, policy-codec.ts) inside a scoremesh.signing.v1.Signed envelope: readers accept only
 * values signed by a trusted operator, and `updated_by` is that operator (docs/security-nats.md).
 */
export class PolicyStore {
  private constructor(
    private readonly nc: NatsConnection,
    private readonly kv: KV,
    private readonly trust: PolicyTrust,
  ) {}

  /** Opens the bucket (creating it needs $JS.API.STREAM.CREATE.KV_scoremesh_policy: only control may). */
  static async open(nc: NatsConnection, trust: PolicyTrust): Promise<PolicyStore> {
    const kv = await nc.jetstream().views.kv(POLICY_BUCKET, withReplicas(POLICY_BUCKET_OPTIONS));
    return new PolicyStore(nc, kv, trust);
  }

  /** The model's verified policy, undefined when it has none; throws `KvValueError` when its value is refused. */
  async get(model: string): Promise<ServingPolicy | undefined> {
    const e = await this.kv.get(model);
    if (!e || e.operation !== "PUT") return undefined;
    return readSignedPolicy(e.string(), model, this.trust.trusted);
  }

  /** The model's value as stored (signed or not) and its revision, for checks and repairs; undefined when none. */
  async raw(model: string): Promise<{ text: string; revision: number } | undefined> {
    const e = await this.kv.get(model);
    if (!e || e.operation !== "PUT") return undefined;
    return { text: e.string(), revision: e.revision };
  }

  /** The model's policy and revision now (a refused value is reported, not thrown), for `putAt`. */
  async read(model: string): Promise<PolicyAt> {
    const e = await this.kv.get(model);
    if (!e || e.operation !== "PUT") return { revision: e?.revision ?? 0 };
    try {
      return { policy: readSignedPolicy(e.string(), model, this.trust.trusted), revision: e.revision };
    } catch (err) {
      return { refused: (err as Error).message, revision: e.revision };
    }
  }

  /**
   * Writes a signed policy only if the key is still at `revision` (from `read`); throws `PolicyConflictError`
   * when someone wrote it in between, so that two operators never overwrite each other's change unseen.
   */
  async putAt(fields: PolicyFields, revision: number): Promise<ServingPolicy> {
    const { text, policy } = writeSignedPolicy(fields, this.signer(), this.trust.trusted);
    try {
      await this.kv.put(policy.model, text, { previousSeq: revision });
    } catch (err) {
      if (!isWrongRevision(err)) throw err;
      throw new PolicyConflictError(
        `the serving policy of ${policy.model} changed since it was read (at revision ${revision}): someone else wrote it; read it again (meshctl policy ${policy.model}) and retry`,
        { cause: err },
      );
    }
    return policy;
  }

  /** Writes a policy signed with this store's signer (last writer wins); returns it as readers will see it. */
  async put(fields: PolicyFields): Promise<ServingPolicy> {
    const { text, policy } = writeSignedPolicy(fields, this.signer(), this.trust.trusted);
    await this.kv.put(policy.model, text);
    return policy;
  }

  /** Writes a policy only if the key is still at `revision` (0: has none yet); false when someone wrote first. */
  async putIfAt(fields: PolicyFields, revision: number): Promise<boolean> {
    const { text, policy } = writeSignedPolicy(fields, this.signer(), this.trust.trusted);
    try {
      await (revision === 0 ? this.kv.create(policy.model, text) : this.kv.update(policy.model, text, revision));
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Calls `onPolicy` with the current verified policy of every model (and its KV revision), then with every change, until `close()`;
   * after NATS was away, with the current policy of every model again (see `watchKv`). A refused value (unsigned,
   * untrusted signer, altered, unreadable) goes to `onRefused` (with its key) once per value, and the last good one stays.
   * Resolves once the current values have been delivered.
   */
  async watch(
    onPolicy: (p: ServingPolicy, revision: number) => void,
    onRefused: (err: unknown, model?: string) => void,
  ): Promise<{ close(): void }> {
    const refused = new Map<string, string>();
    return watchKv({
      nc: this.nc,
      kv: this.kv,
      bucket: POLICY_BUCKET,
      decode: (text, key) => {
        try {
          const p = readSignedPolicy(text, key, this.trust.trusted);
          refused.delete(key);
          return p;
        } catch (err) {
          if (refused.get(key) !== text) onRefused(err, key);
          refused.set(key, text);
          return undefined;
        }
      },
      onValue: (p, _key, revision) => p && onPolicy(p, revision),
      onError: (err) => onRefused(err),
    });
  }

  /** The model families that have a key in the bucket. */
  async models(): Promise<string[]> {
    return (await kvKeys(this.kv)).sort();
  }

  private signer(): Signer {
    if (!this.trust.signer) throw new Error("this policy store has no signing key: it can only read");
    return this.trust.signer;
  }
}
