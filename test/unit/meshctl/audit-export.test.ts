import { test } from "node:test";
import assert from "node:assert/strict";
import { create, toBinary } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { AuditRecordSchema } from "../../../gen/scoremesh/audit/v1/audit_pb.js";
import { encodeFrame, FrameKind } from "../../../services/lib/audit/index.js";
import { exportFilterOf, exportLines } from "../../../tools/meshctl/audit-export.js";
import { CliError } from "../../../tools/meshctl/output.js";

const T0 = Date.parse("2026-11-30T10:00:00Z");

function frame(requestId: string, tenantId: string, model: string, atMs: number): Buffer {
  const r = create(AuditRecordSchema, { requestId, tenantId, model, decidedAt: timestampFromMs(atMs), score: 0.25 });
  return encodeFrame(FrameKind.Record, toBinary(AuditRecordSchema, r));
}

const batch = Buffer.concat([
  frame("a-1", "acme", "credit-default", T0 - 1),
  frame("a-2", "acme", "credit-default", T0),
  frame("b-1", "bank", "credit-default", T0 + 1000),
  frame("a-3", "acme", "other", T0 + 2000),
  frame("a-4", "acme", "credit-default", T0 + 3600_000),
  encodeFrame(FrameKind.Checkpoint, new Uint8Array([1, 2, 3])),
]);

const ids = (lines: string[]) =>
  lines.map((l) => (JSON.parse(l) as { record: { requestId: string } }).record.requestId);

test("export writes one JSON line per record decided in [since, until), filtered by model and tenant", () => {
  const bad = { count: 0 };
  const all = { sinceMs: T0, untilMs: T0 + 3600_000 };
  assert.deepEqual(ids(exportLines(7, batch, all, bad)), ["a-2", "b-1", "a-3"]);
  assert.deepEqual(ids(exportLines(7, batch, { ...all, tenant: "acme" }, bad)), ["a-2", "a-3"]);
  assert.deepEqual(ids(exportLines(7, batch, { ...all, model: "credit-default" }, bad)), ["a-2", "b-1"]);
  assert.deepEqual(ids(exportLines(7, batch, { ...all, tenant: "acme", model: "other" }, bad)), ["a-3"]);
  const line = JSON.parse(exportLines(7, batch, all, bad)[0]!) as Record<string, unknown>;
  assert.equal(line["streamSeq"], 7);
  assert.match(line["hash"] as string, /^[0-9a-f]{64}$/);
  assert.equal((line["record"] as { tenantId: string }).tenantId, "acme");
  assert.equal(bad.count, 0);
});

test("a damaged stored batch is counted, its whole frames still exported", () => {
  const bad = { count: 0 };
  const torn = Buffer.concat([frame("a-2", "acme", "m", T0), Buffer.from([0, 0, 0, 40, 1])]);
  assert.deepEqual(ids(exportLines(1, torn, { sinceMs: T0, untilMs: T0 + 1 }, bad)), ["a-2"]);
  assert.equal(bad.count, 1);
});

test("--since is required, --until must be after it, each bad value named", () => {
  const now = T0;
  assert.deepEqual(exportFilterOf({ since: "2h", until: "1h" }, now), {
    sinceMs: now - 7_200_000,
    untilMs: now - 3_600_000,
    model: undefined,
    tenant: undefined,
  });
  assert.equal(exportFilterOf({ since: "2026-11-30T09:00:00Z" }, now).untilMs, now, "until defaults to now");
  const err = (v: Record<string, string>) => {
    try {
      exportFilterOf(v, now);
    } catch (e) {
      assert.ok(e instanceof CliError);
      assert.equal(e.exitCode, 2);
      return e.message;
    }
    return "";
  };
  assert.match(err({}), /--since is required/);
  assert.match(err({ since: "yesterday" }), /--since must be/);
  assert.match(err({ since: "1h", until: "soon" }), /--until must be/);
  assert.match(err({ since: "1h", until: "2h" }), /--until .* must be after --since/);
});
