import { create, type JsonObject } from "@bufbuild/protobuf";
import { timestampDate, timestampFromDate, type Timestamp } from "@bufbuild/protobuf/wkt";
import {
  WorkerRecordSchema,
  type WorkerRecord as WorkerRecordMessage,
} from "../../../gen/scoremesh/worker/v1/worker_pb.js";
import { kvCodec } from "./kv-codec.js";

/**
 * What a model worker tells the rest of the mesh about itself: where it listens, which execution providers
 * it asked ONNX Runtime for and which it runs on (and why it fell back), and which model versions it serves.
 * The value of its key in the worker bucket is scoremesh.worker.v1.WorkerRecord as protobuf JSON, with a schema
 * version (`nats kv get scoremesh_workers <key>` is readable).
 */
export interface WorkerRecord {
  /** The gRPC address the worker listens on (WORKER_ADDR). */
  address: string;
  /** Host name and process id, e.g. "node-3/4711": tells a restarted worker from the one before it. */
  instance: string;
  pid: number;
  /** The execution providers asked for, in order (WORKER_EXECUTION_PROVIDERS resolved; "cpu" ends it). */
  providersRequested: string[];
  /** The providers its loaded model versions run on. */
  providersActive: string[];
  /** Providers that could not load, with the first line of ONNX Runtime's error. Empty when none failed. */
  fallbacks: { provider: string; reason: string }[];
  /** The model versions loaded; `ready` once warmed up. */
  models: { model: string; version: string; provider: string; ready: boolean }[];
  /** Versions the worker refuses to serve (the skew guard), with the reason. */
  refused: { model: string; version: string; reason: string }[];
  /** ISO 8601 times (the worker's clock): when the process started and when this record was written. */
  startedAt: string;
  updatedAt: string;
  /** The worker's pool labels (WORKER_LABELS), e.g. ["gpu"]; empty or absent in records written before labels. */
  labels?: string[];
}

/** The schema version of the worker records this build writes (scoremesh.worker.v1.WorkerRecord.schema_version). */
export const WORKER_RECORD_SCHEMA_VERSION = 1;

const workerRecordCodec = kvCodec({
  what: "worker record",
  schema: WorkerRecordSchema,
  version: WORKER_RECORD_SCHEMA_VERSION,
  upgrade: (legacy) => toMessage(parseLegacyWorkerRecord(legacy)),
  problem: recordProblem,
});

/** Protobuf JSON of a worker's record, as the worker bucket keeps it. */
export function encodeWorkerRecord(record: WorkerRecord): string {
  return workerRecordCodec.encode(toMessage(record));
}

/** Parses a record from the bucket (any schema version this build reads); throws `KvValueError` saying what is wrong. */
export function parseWorkerRecord(json: string): WorkerRecord {
  return fromMessage(workerRecordCodec.decode(json));
}

function toMessage(r: WorkerRecord): WorkerRecordMessage {
  return create(WorkerRecordSchema, {
    ...r,
    startedAt: timestampOf("startedAt", r.startedAt),
    updatedAt: timestampOf("updatedAt", r.updatedAt),
    schemaVersion: WORKER_RECORD_SCHEMA_VERSION,
  });
}

function fromMessage(m: WorkerRecordMessage): WorkerRecord {
  const iso = (t: Timestamp | undefined) => (t ? timestampDate(t).toISOString() : "");
  return {
    address: m.address,
    instance: m.instance,
    pid: m.pid,
    providersRequested: m.providersRequested,
    providersActive: m.providersActive,
    fallbacks: m.fallbacks.map(({ provider, reason }) => ({ provider, reason })),
    models: m.models.map(({ model, version, provider, ready }) => ({ model, version, provider, ready })),
    refused: m.refused.map(({ model, version, reason }) => ({ model, version, reason })),
    startedAt: iso(m.startedAt),
    updatedAt: iso(m.updatedAt),
    ...(m.labels.length ? { labels: [...m.labels] } : {}),
  };
}

function recordProblem(m: WorkerRecordMessage): string | undefined {
  if (!m.address) return "address is empty";
  if (!m.startedAt || !m.updatedAt) return "startedAt and updatedAt are required";
  return undefined;
}

function timestampOf(field: string, iso: string): Timestamp {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) throw new TypeError(`${field} must be an ISO 8601 time, got ${JSON.stringify(iso)}`);
  return timestampFromDate(d);
}

/**
 * Reads a record written before schema versions: a plain JSON object with the fields of `WorkerRecord`. Throws
 * naming the first field that is missing or of the wrong type.
 */
function parseLegacyWorkerRecord(v: JsonObject): WorkerRecord {
  const str = (o: JsonObject, k: string) => {
    const x = o[k];
    if (typeof x !== "string") throw new TypeError(`${k} must be a string`);
    return x;
  };
  const list = <T>(k: string, item: (x: JsonObject) => T): T[] => {
    const a = v[k];
    if (!Array.isArray(a)) throw new TypeError(`${k} must be an array`);
    return a.map((x) => {
      if (typeof x !== "object" || x === null || Array.isArray(x)) throw new TypeError(`${k} must hold objects`);
      return item(x);
    });
  };
  const strings = (k: string) => {
    const a = v[k];
    if (!Array.isArray(a) || !a.every((x) => typeof x === "string"))
      throw new TypeError(`${k} must be an array of strings`);
    return a;
  };
  const pid = v["pid"];
  if (typeof pid !== "number" || !Number.isInteger(pid) || pid < 0 || pid > 0xffffffff)
    throw new TypeError("pid must be a non-negative integer");
  return {
    address: str(v, "address"),
    instance: str(v, "instance"),
    pid,
    providersRequested: strings("providersRequested"),
    providersActive: strings("providersActive"),
    fallbacks: list("fallbacks", (f) => ({ provider: str(f, "provider"), reason: str(f, "reason") })),
    models: list("models", (m) => {
      if (typeof m["ready"] !== "boolean") throw new TypeError("models[].ready must be a boolean");
      return { model: str(m, "model"), version: str(m, "version"), provider: str(m, "provider"), ready: m["ready"] };
    }),
    refused: list("refused", (r) => ({ model: str(r, "model"), version: str(r, "version"), reason: str(r, "reason") })),
    startedAt: str(v, "startedAt"),
    updatedAt: str(v, "updatedAt"),
  };
}
