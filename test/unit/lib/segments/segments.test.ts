import { test } from "node:test";
import assert from "node:assert/strict";
import {
  firstMatch,
  matchesAll,
  parseWhere,
  SegmentWhereError,
  type SegmentSubject,
} from "../../../../services/lib/segments/index.js";

const row = (over: Partial<SegmentSubject> = {}): SegmentSubject => ({
  tenantId: "acme",
  labels: { channel: "branch" },
  inputs: { LIMIT_BAL: 200_000, PAY_0: 1 },
  ...over,
});

test("parseWhere reads tenants, labels and input bands joined by and", () => {
  assert.deepEqual(parseWhere("tenant=acme"), [{ kind: "tenant", op: "=", value: "acme" }]);
  assert.deepEqual(parseWhere("label.channel != branch AND LIMIT_BAL>=200000 and LIMIT_BAL < 5e5"), [
    { kind: "label", key: "channel", op: "!=", value: "branch" },
    { kind: "input", name: "LIMIT_BAL", op: ">=", value: 200_000 },
    { kind: "input", name: "LIMIT_BAL", op: "<", value: 500_000 },
  ]);
});

test("rules over a protected attribute are refused with the reason, as inputs or as labels", () => {
  for (const where of ["AGE>=60", "SEX=2", "marriage=1", "tenant=acme and AGE<30", "label.age=young", "label.Sex=f"])
    assert.throws(
      () => parseWhere(where),
      (err: unknown) =>
        err instanceof SegmentWhereError &&
        /is a protected attribute \(SEX, AGE, MARRIAGE\): a model version may not be chosen by sex, age or marital status/.test(
          err.message,
        ),
      where,
    );
});

test("malformed conditions are refused saying which and why", () => {
  const refuses = (where: string, why: RegExp) =>
    assert.throws(
      () => parseWhere(where),
      (e: unknown) => e instanceof SegmentWhereError && why.test(e.message),
      where,
    );
  refuses("", /is empty/);
  refuses("channel", /"channel" is not FIELD OP VALUE/);
  refuses("tenant>acme", /tenants and labels compare with = or != only/);
  refuses("label.Channel=x", /label key must be/);
  refuses("label.channel=a b", /the value must be 1-64/);
  refuses("LIMIT_BAL>=lots", /an input is compared with a number, got lots/);
  refuses("x".repeat(600), /at most 512/);
});

test("matching: every condition must hold; a missing label equals no value; a missing input holds nothing", () => {
  const m = (where: string, r = row()) => matchesAll(parseWhere(where), r);
  assert.equal(m("tenant=acme"), true);
  assert.equal(m("tenant!=acme"), false);
  assert.equal(m("label.channel=branch and tenant=acme"), true);
  assert.equal(m("label.channel=branch and tenant=globex"), false);
  assert.equal(m("label.region=north"), false);
  assert.equal(m("label.region!=north"), true, "no region label is not north");
  assert.equal(m("LIMIT_BAL>=200000 and LIMIT_BAL<500000"), true);
  assert.equal(m("LIMIT_BAL>200000"), false);
  assert.equal(m("LIMIT_BAL<200000"), false, "[a, b) bands: the lower bound is in, the upper out");
  assert.equal(m("LIMIT_BAL<=200000 and PAY_0=1 and PAY_0!=2"), true);
  assert.equal(m("BILL_AMT1>=0"), false, "an input the row lacks");
  assert.equal(m("BILL_AMT1!=0"), false, "not even != holds over a missing input");
});

test("firstMatch: rules are evaluated in order and the first match wins", () => {
  const rules = [
    { name: "a", conditions: parseWhere("label.channel=web") },
    { name: "b", conditions: parseWhere("tenant=acme") },
    { name: "c", conditions: parseWhere("label.channel=branch") },
  ];
  assert.equal(firstMatch(rules, row())?.name, "b");
  assert.equal(firstMatch(rules, row({ tenantId: "globex" }))?.name, "c");
  assert.equal(firstMatch(rules, row({ tenantId: "globex", labels: {} })), undefined);
});
