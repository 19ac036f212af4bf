import { test } from "node:test";
import assert from "node:assert/strict";
import { fromJsonString } from "@bufbuild/protobuf";
import { WorkerRecordSchema } from "../../../../gen/scoremesh/worker/v1/worker_pb.js";
import { KvValueError } from "../../../../services/lib/nats/kv-codec.js";
import {
  encodeWorkerRecord,
  parseWorkerRecord,
  type WorkerRecord,
} from "../../../../services/lib/nats/worker-record.js";

const record: WorkerRecord = {
  address: "127.0.0.1:50081",
  instance: "node-3/4711",
  pid: 4711,
  providersRequested: ["cuda", "cpu"],
  providersActive: ["cpu"],
  fallbacks: [
    { provider: "cuda", reason: "OrtSessionOptionsAppendExecutionProvider_Cuda: Failed to load shared library" },
  ],
  models: [
    { model: "credit-default", version: "2", provider: "cpu", ready: false },
    { model: "credit-default", version: "3", provider: "cpu", ready: true },
  ],
  refused: [{ model: "credit-default", version: "5", reason: "feature spec skew" }],
  startedAt: "2023-11-14T22:13:20.000Z",
  updatedAt: "2023-11-14T22:13:21.250Z",
};

test("a worker record round-trips as protobuf JSON of scoremesh.worker.v1.WorkerRecord with its schema version", () => {
  const text = encodeWorkerRecord(record);
  const m = fromJsonString(WorkerRecordSchema, text);
  assert.equal(m.schemaVersion, 1);
  assert.equal(m.models[1]?.ready, true);
  assert.equal(
    (JSON.parse(text) as { startedAt: string }).startedAt,
    "2023-11-14T22:13:20Z",
    "times are RFC 3339 strings",
  );
  assert.deepEqual(parseWorkerRecord(text), record);
});

test("a record written before schema versions (plain JSON, as workers wrote it) is upgraded on read", () => {
  assert.deepEqual(parseWorkerRecord(JSON.stringify(record)), record);
  assert.deepEqual(parseWorkerRecord(JSON.stringify({ ...record, schemaVersion: 0 })), record);
  // Its malformed values are refused naming the field, as before.
  assert.throws(() => parseWorkerRecord(JSON.stringify({ ...record, pid: "4711" })), /worker record: pid/);
  assert.throws(() => parseWorkerRecord(JSON.stringify({ ...record, providersActive: "cpu" })), /providersActive/);
  assert.throws(
    () => parseWorkerRecord(JSON.stringify({ ...record, models: [{ model: "m", version: "1", provider: "cpu" }] })),
    /ready/,
  );
  assert.throws(() => parseWorkerRecord(JSON.stringify({ ...record, fallbacks: [{ provider: "cuda" }] })), /reason/);
  assert.throws(
    () => parseWorkerRecord(JSON.stringify({ ...record, startedAt: "yesterday" })),
    /startedAt must be an ISO 8601 time/,
  );
});

test("malformed worker records are refused with a KvValueError that says what is wrong", () => {
  const current = JSON.parse(encodeWorkerRecord(record)) as Record<string, unknown>;
  const refuses = (text: string, why: RegExp) =>
    assert.throws(
      () => parseWorkerRecord(text),
      (err: unknown) => err instanceof KvValueError && why.test(err.message),
      why.source,
    );
  refuses("not json", /^worker record: not JSON/);
  refuses("[1]", /not a JSON object/);
  refuses(JSON.stringify({ ...current, pid: "many" }), /pid/);
  refuses(JSON.stringify({ ...current, startedAt: "yesterday" }), /Timestamp from JSON: invalid RFC 3339/);
  refuses(JSON.stringify({ ...current, address: "" }), /address is empty/);
  refuses(JSON.stringify({ ...current, updatedAt: undefined }), /updatedAt are required/);
  refuses(JSON.stringify({ ...current, schemaVersion: 2 }), /schema version 2 is not one this build reads/);
  refuses(JSON.stringify({ ...current, schemaVersion: "one" }), /schemaVersion must be a non-negative integer/);
});

test("a field added by a newer build of the same schema version is ignored", () => {
  const current = JSON.parse(encodeWorkerRecord(record)) as Record<string, unknown>;
  assert.deepEqual(parseWorkerRecord(JSON.stringify({ ...current, gpuMemoryBytes: "1024" })), record);
});
