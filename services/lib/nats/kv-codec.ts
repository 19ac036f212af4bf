import { clone, fromJson, toJsonString, type JsonObject, type Message } from "@bufbuild/protobuf";
import type { GenMessage } from "@bufbuild/protobuf/codegenv2";

/** A KV value that cannot be read: not JSON, not an object, invalid, or of a schema version this build does not read. */
export class KvValueError extends Error {
  override readonly name = "KvValueError";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** A KV value's message: every one carries the schema version it was written with. */
export type VersionedMessage = Message & { schemaVersion: number };

export interface KvCodecOptions<M extends VersionedMessage> {
  /** What the value is, first in every error, e.g. "breaker transition". */
  what: string;
  schema: GenMessage<M>;
  /** The schema version this build writes, and the only one it reads as protobuf JSON. */
  version: number;
  /** Reads a value written before `schema_version` existed (absent or 0); throws saying what is wrong. */
  upgrade(legacy: JsonObject): M;
  /** Readers of older schema versions (other than 0) this build still reads, by version; throw saying what is wrong. */
  older?: Record<number, (json: JsonObject) => M>;
  /** What is wrong with a value that parsed (a required field left empty), or undefined. */
  problem?(value: M): string | undefined;
}

export interface KvCodec<M extends VersionedMessage> {
  /** Protobuf JSON of the value, stamped with the current schema version. */
  encode(value: M): string;
  /** The value of a KV entry, upgraded to the current schema version; throws `KvValueError` when unreadable. */
  decode(text: string): M;
}

/**
 * Reads and writes one kind of KV value as protobuf JSON (so `nats kv get` is readable) with a schema version.
 * Values of the current version are read ignoring fields this build does not know, so a newer replica that
 * added a field does not break older ones during a rolling upgrade; values written before schema versions go
 * through `upgrade`, so a mesh's saved state survives an upgrade; any other version is refused.
 *
 * @example
 *   const codec = kvCodec({
 *     what: "serving policy",
 *     schema: ServingPolicySchema,
 *     version: 1,
 *     upgrade: (legacy) => fromJson(ServingPolicySchema, legacy),
 *   });
 *   await kv.put(key, codec.encode(policy));
 *   const p = codec.decode(entry.string());
 */
export function kvCodec<M extends VersionedMessage>(opts: KvCodecOptions<M>): KvCodec<M> {
  const { what, schema, version } = opts;
  const readAs = (json: JsonObject, v: number): M => {
    if (v === 0) return opts.upgrade(json);
    if (v === version) return fromJson(schema, json, { ignoreUnknownFields: true });
    const older = opts.older?.[v];
    if (older) return older(json);
    const readable = [0, ...Object.keys(opts.older ?? {}), version].join(", ");
    throw new Error(
      `schema version ${v} is not one this build reads (${readable}): was it written by a newer scoremesh?`,
    );
  };
  return {
    encode(value) {
      const out = clone(schema, value);
      out.schemaVersion = version;
      return toJsonString(schema, out);
    },
    decode(text) {
      const json = parseObject(what, text);
      try {
        const value = readAs(json, schemaVersionOf(json));
        const problem = opts.problem?.(value);
        if (problem) throw new Error(problem);
        value.schemaVersion = version;
        return value;
      } catch (err) {
        throw new KvValueError(`${what}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
      }
    },
  };
}

function parseObject(what: string, text: string): JsonObject {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new KvValueError(`${what}: not JSON (${String(err)})`, { cause: err });
  }
  if (typeof json !== "object" || json === null || Array.isArray(json))
    throw new KvValueError(`${what}: not a JSON object`);
  return json as JsonObject;
}

/** The value's schema version (protobuf JSON allows the JSON or the proto name, a number or a numeric string). */
function schemaVersionOf(json: JsonObject): number {
  const raw = json["schemaVersion"] ?? json["schema_version"] ?? 0;
  const v = typeof raw === "number" || typeof raw === "string" ? Number(raw) : NaN;
  if (!Number.isInteger(v) || v < 0)
    throw new Error(`schemaVersion must be a non-negative integer, got ${JSON.stringify(raw)}`);
  return v;
}
