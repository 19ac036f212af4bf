import { test } from "node:test";
import assert from "node:assert/strict";
import { MAX_LABELS, validateLabels } from "../../../services/validator/labels.js";

test("good labels pass; none is fine", () => {
  assert.deepEqual(validateLabels({}, "labels"), []);
  assert.deepEqual(validateLabels({ channel: "branch", region: "eu-north_1", ref: "a.b:c" }, "labels"), []);
});

test("each bad label is refused naming its field", () => {
  const v = validateLabels(
    { Channel: "x", "1st": "x", region: "a b", empty: "", long: "x".repeat(65), ["k".repeat(40)]: "x" },
    "requests[2].labels",
  );
  assert.deepEqual(
    v.map((x) => [x.field, x.reason]),
    [
      ["requests[2].labels.Channel", "BAD_KEY"],
      ["requests[2].labels.1st", "BAD_KEY"],
      ["requests[2].labels.region", "BAD_VALUE"],
      ["requests[2].labels.empty", "BAD_VALUE"],
      ["requests[2].labels.long", "BAD_VALUE"],
      [`requests[2].labels.${"k".repeat(32)}`, "BAD_KEY"],
    ],
  );
  assert.ok(v.every((x) => x.description.length > 0));
});

test(`more than ${MAX_LABELS} labels: one violation on the map`, () => {
  const many = Object.fromEntries(Array.from({ length: MAX_LABELS + 1 }, (_, i) => [`k${i}`, "v"]));
  assert.deepEqual(
    validateLabels(many, "labels").map((x) => [x.field, x.reason]),
    [["labels", "TOO_MANY"]],
  );
  assert.deepEqual(validateLabels(Object.fromEntries(Object.entries(many).slice(1)), "labels"), []);
});
