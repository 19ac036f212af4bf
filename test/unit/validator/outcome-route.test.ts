import { test } from "node:test";
import assert from "node:assert/strict";
import { create } from "@bufbuild/protobuf";
import { Outcome, ReportOutcomeRequestSchema } from "../../../gen/scoremesh/scoring/v1/scoring_pb.js";
import { outcomeViolations } from "../../../services/validator/outcome-route.js";

const NOW = Date.parse("2026-11-30T12:00:00Z");
const req = (init: { requestId?: string; outcome?: Outcome; observedOn?: string }) =>
  create(ReportOutcomeRequestSchema, { requestId: "r-1", outcome: Outcome.REPAID, observedOn: "2026-11-01", ...init });
const fields = (init: Parameters<typeof req>[0]) => outcomeViolations(req(init), NOW).map((v) => [v.field, v.reason]);

test("a well-formed outcome has no violations; tomorrow (a caller ahead in time) is allowed", () => {
  assert.deepEqual(fields({}), []);
  assert.deepEqual(fields({ outcome: Outcome.DEFAULTED, observedOn: "2026-12-01" }), []);
});

test("every offending field is named with its reason", () => {
  assert.deepEqual(fields({ requestId: "", outcome: Outcome.UNSPECIFIED, observedOn: "" }), [
    ["request_id", "REQUIRED"],
    ["outcome", "BAD_VALUE"],
    ["observed_on", "REQUIRED"],
  ]);
  assert.deepEqual(fields({ requestId: "x".repeat(129) }), [["request_id", "TOO_LONG"]]);
  assert.deepEqual(fields({ requestId: "a b" }), [["request_id", "BAD_FORMAT"]]);
  assert.deepEqual(fields({ outcome: 7 as Outcome }), [["outcome", "BAD_VALUE"]]);
  for (const day of ["2026-02-30", "2026-1-01", "01/11/2026", "2026-11-01T00:00:00Z"])
    assert.deepEqual(fields({ observedOn: day }), [["observed_on", "BAD_FORMAT"]], day);
  for (const day of ["2026-12-02", "1999-12-31"])
    assert.deepEqual(fields({ observedOn: day }), [["observed_on", "OUT_OF_RANGE"]], day);
});
