import { test } from "node:test";
import assert from "node:assert/strict";
import { forEachInput, segmentReference } from "../../../../services/monitor/drift/index.js";
import type { InputSpec, SegmentDef } from "../../../../services/lib/model/index.js";
import { CreditStream, MODEL, repo } from "./credit-stream.js";

const spec = repo.spec(MODEL);
const profile = repo.card(MODEL, "3").profile!;
const inputOf = (name: string) => spec.inputs.find((i) => i.name === name)!;
const segmentOf = (name: string) => spec.segments.find((s) => s.name === name)!;

test("AGE's deciles rebinned to the age bands: interior bins split by the integers they hold, the open last bin's bands merged", () => {
  const ref = segmentReference(profile.inputs["AGE"]!, segmentOf("age_band"), inputOf("AGE"))!;
  assert.deepEqual(ref.groups, ["<25", "25-34", "35-44", "45-54+55-64+65+"]);
  const total = ref.counts.reduce((a, b) => a + b, 0);
  assert.ok(Math.abs(total - profile.rows) < 1e-9, "every reference row lands in a group");
  assert.equal(ref.counts[0], profile.inputs["AGE"]!.counts[0], "the first decile is exactly the <25 band");
  assert.equal(ref.groupOf.get("55-64"), 3);
  assert.equal(ref.groupOf.get("unknown"), undefined);
});

test("codes: SEX maps bin for bin; MARRIAGE's open last bin (2 and 3) merges single with other", () => {
  const sex = segmentReference(profile.inputs["SEX"]!, segmentOf("sex"), inputOf("SEX"))!;
  assert.deepEqual(sex.groups, ["male", "female"]);
  assert.deepEqual(sex.counts, profile.inputs["SEX"]!.counts);
  const marriage = segmentReference(profile.inputs["MARRIAGE"]!, segmentOf("marriage"), inputOf("MARRIAGE"))!;
  assert.deepEqual(marriage.groups, ["other+single", "married"]);
  const [undocumented, married, rest] = profile.inputs["MARRIAGE"]!.counts;
  assert.deepEqual(marriage.counts, [undocumented! + rest!, married]);
});

test("an interior bin spanning two bands is split in proportion to its integers", () => {
  const input: InputSpec = { name: "X", type: "integer", min: 0, max: 9, required: true, description: "" };
  const segment: SegmentDef = { name: "x_band", source: "X", edges: [5] };
  const ref = segmentReference({ edges: [2, 8], counts: [10, 60, 30] }, segment, input)!;
  // Bin [2, 8) holds 2..7: 3 below 5, 3 at or above: 30 each.
  assert.deepEqual(ref.groups, ["<5", "5+"]);
  assert.deepEqual(ref.counts, [40, 60]);
  assert.equal(segmentReference({ edges: [], counts: [1] }, segment, { ...input, type: "number" }), undefined);
});

test("a record's inputs: the feature service's encoded audit map decodes to the non-sensitive inputs by name", () => {
  const stream = new CreditStream();
  const read = (bytes: Uint8Array) => {
    const out: Record<string, number> = {};
    forEachInput(bytes, (name, v) => (out[name] = v));
    return out;
  };
  const inputs = read(stream.record(0).inputs);
  assert.equal(Object.keys(inputs).length, 20);
  assert.equal(inputs["LIMIT_BAL"], stream.rows[0]!["LIMIT_BAL"]);
  assert.equal(inputs["PAY_0"], stream.rows[0]!["PAY_0"]);
  for (const name of ["AGE", "SEX", "MARRIAGE"])
    assert.equal(inputs[name], undefined, `${name} never reaches the monitor`);
  assert.deepEqual(read(new Uint8Array(0)), {});
  assert.deepEqual(read(Uint8Array.of(0xff, 0xff)), {}, "an unreadable one counts nothing");
  assert.deepEqual(read(Uint8Array.of(0x62, 0x7f, 0x0a)), {}, "nor a truncated one");
});
