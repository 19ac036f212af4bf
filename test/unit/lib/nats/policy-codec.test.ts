import { test } from "node:test";
import assert from "node:assert/strict";
import { clone, create, fromJsonString, toJsonString } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import {
  CanarySchema,
  CascadeSchema,
  RolloutSchema,
  SegmentRuleSchema,
  ServingPolicySchema,
  ShadowSchema,
  VersionPoolSchema,
} from "../../../../gen/scoremesh/policy/v1/policy_pb.js";
import { decodePolicy, encodePolicy, keptFields, KvValueError } from "../../../../services/lib/nats/index.js";

const policy = create(ServingPolicySchema, {
  model: "credit-default",
  championVersion: "3",
  updatedBy: "meshctl@alice",
  updatedAt: timestampFromMs(1_700_000_000_000),
  schemaVersion: 2,
});

test("a serving policy round-trips as protobuf JSON with its schema version", () => {
  const text = encodePolicy(create(ServingPolicySchema, { ...policy, schemaVersion: 0 }));
  assert.equal(fromJsonString(ServingPolicySchema, text).schemaVersion, 2, "written with the current version");
  assert.deepEqual(decodePolicy(text), policy);
});

test("a policy written before schema versions (the same message without the field) is read as the current version", () => {
  // What PolicyStore wrote before: toJsonString of the message, no schemaVersion.
  const legacy =
    '{"model":"credit-default","championVersion":"3","updatedAt":"2023-11-14T22:13:20Z","updatedBy":"meshctl@alice"}';
  assert.deepEqual(decodePolicy(legacy), policy);
  assert.deepEqual(decodePolicy(toJsonString(ServingPolicySchema, { ...policy, schemaVersion: 0 })), policy);
});

test("a policy of schema version 1 (before canaries) is read as the current version", () => {
  assert.deepEqual(decodePolicy(toJsonString(ServingPolicySchema, { ...policy, schemaVersion: 1 })), policy);
});

test("a canary round-trips; one that cannot serve is refused naming the field", () => {
  const withCanary = (canary: { version: string; percent: number }) => {
    const p = clone(ServingPolicySchema, policy);
    p.canary = create(CanarySchema, canary);
    return p;
  };
  const p = withCanary({ version: "4", percent: 12.5 });
  assert.deepEqual(decodePolicy(encodePolicy(p)), p);
  const refuses = (canary: { version: string; percent: number }, why: RegExp) =>
    assert.throws(() => decodePolicy(encodePolicy(withCanary(canary))), why);
  refuses({ version: "", percent: 10 }, /canary\.version is empty/);
  refuses({ version: "3", percent: 10 }, /canary\.version is the champion's \(3\)/);
  refuses({ version: "4", percent: 0 }, /canary\.percent must be in \(0, 100\], got 0/);
  refuses({ version: "4", percent: 101 }, /canary\.percent must be in \(0, 100\], got 101/);
});

test("a shadow round-trips next to a canary, without a schema version change; a bad one is refused naming the field", () => {
  const withShadow = (shadow: { version: string; sampleRate: number }) => {
    const p = clone(ServingPolicySchema, policy);
    p.canary = create(CanarySchema, { version: "4", percent: 10 });
    p.shadow = create(ShadowSchema, shadow);
    return p;
  };
  const p = withShadow({ version: "4", sampleRate: 0.25 });
  const text = encodePolicy(p);
  assert.equal(fromJsonString(ServingPolicySchema, text).schemaVersion, 2);
  assert.deepEqual(decodePolicy(text), p);
  const refuses = (shadow: { version: string; sampleRate: number }, why: RegExp) =>
    assert.throws(() => decodePolicy(encodePolicy(withShadow(shadow))), why);
  refuses({ version: "", sampleRate: 0.5 }, /shadow\.version is empty/);
  refuses({ version: "3", sampleRate: 0.5 }, /shadow\.version is the champion's \(3\)/);
  refuses({ version: "4", sampleRate: 0 }, /shadow\.sampleRate must be in \(0, 1\], got 0/);
  refuses({ version: "4", sampleRate: 1.5 }, /shadow\.sampleRate must be in \(0, 1\], got 1.5/);
});

test("a light → heavy cascade round-trips without a schema version change; a bad one is refused naming the field", () => {
  const withCascade = (c: { lightVersion: string; bandLow: number; bandHigh: number }) => {
    const p = clone(ServingPolicySchema, policy);
    p.cascade = create(CascadeSchema, c);
    return p;
  };
  const p = withCascade({ lightVersion: "5", bandLow: 0.2, bandHigh: 0.7 });
  const text = encodePolicy(p);
  assert.equal(fromJsonString(ServingPolicySchema, text).schemaVersion, 2);
  assert.deepEqual(decodePolicy(text), p);
  const refuses = (c: { lightVersion: string; bandLow: number; bandHigh: number }, why: RegExp) =>
    assert.throws(() => decodePolicy(encodePolicy(withCascade(c))), why);
  refuses({ lightVersion: "", bandLow: 0.2, bandHigh: 0.7 }, /cascade\.lightVersion is empty/);
  refuses({ lightVersion: "3", bandLow: 0.2, bandHigh: 0.7 }, /cascade\.lightVersion is the champion's \(3\)/);
  refuses({ lightVersion: "5", bandLow: -0.1, bandHigh: 0.7 }, /cascade\.bandLow must be in \[0, 1\), got -0\.1/);
  refuses({ lightVersion: "5", bandLow: 0.7, bandHigh: 0.7 }, /cascade\.bandHigh must be in \(bandLow, 1\], got 0\.7/);
  refuses({ lightVersion: "5", bandLow: 0.2, bandHigh: 1.5 }, /cascade\.bandHigh must be in \(bandLow, 1\], got 1\.5/);
});

test("keptFields keeps every writable part of a policy and drops who wrote it and when", () => {
  const p = clone(ServingPolicySchema, policy);
  p.canary = create(CanarySchema, { version: "4", percent: 10 });
  p.shadow = create(ShadowSchema, { version: "2", sampleRate: 0.5 });
  p.cascade = create(CascadeSchema, { lightVersion: "5", bandLow: 0.2, bandHigh: 0.7 });
  p.rollout = create(RolloutSchema, { version: "4", steps: [5, 100], holdDecisions: 10 });
  p.segments = [create(SegmentRuleSchema, { name: "branch", version: "4", where: "label.channel=branch" })];
  const kept = keptFields(p);
  const metadata = ["updatedAt", "updatedBy", "schemaVersion"];
  const writable = ServingPolicySchema.fields.map((f) => f.localName).filter((n) => !metadata.includes(n));
  assert.deepEqual(Object.keys(kept).sort(), writable.sort());
  assert.equal(kept.cascade, p.cascade);
});

test("malformed policies are refused with a KvValueError that says what is wrong", () => {
  const refuses = (text: string, why: RegExp) =>
    assert.throws(
      () => decodePolicy(text),
      (err: unknown) => err instanceof KvValueError && why.test(err.message),
      why.source,
    );
  refuses("credit-default=3", /^serving policy: not JSON/);
  refuses('"credit-default"', /not a JSON object/);
  refuses('{"model":"credit-default","championVersion":3.5}', /champion_version from JSON: expected string/);
  refuses('{"model":"credit-default"}', /championVersion is empty/);
  refuses('{"championVersion":"3","schemaVersion":1}', /model is empty/);
  refuses('{"model":"credit-default","championVersion":"3","champion":"2"}', /champion/);
  refuses(
    '{"model":"credit-default","championVersion":"3","schemaVersion":4}',
    /schema version 4 is not one this build reads \(0, 1, 2, 3\)/,
  );
  refuses(
    '{"model":"credit-default","championVersion":"3","schemaVersion":-1}',
    /schemaVersion must be a non-negative integer/,
  );
});

test("the schema version may be written as a string (protobuf JSON allows it), and new fields of the current version are ignored", () => {
  const text = JSON.stringify({ ...JSON.parse(encodePolicy(policy)), schemaVersion: "2", shadowVersion: "4" });
  assert.deepEqual(decodePolicy(text), policy);
});

test("segment rules are written as schema version 3 (a build that ignores them refuses it), a policy without as 2", () => {
  const p = clone(ServingPolicySchema, policy);
  p.segments = [create(SegmentRuleSchema, { name: "branch", version: "4", where: "label.channel=branch" })];
  const text = encodePolicy(p);
  assert.equal(fromJsonString(ServingPolicySchema, text).schemaVersion, 3);
  assert.deepEqual(decodePolicy(text), { ...p, schemaVersion: 3 });
  assert.equal(fromJsonString(ServingPolicySchema, encodePolicy(policy)).schemaVersion, 2, "no segments: still 2");
});

test("a policy with a bad segment rule is refused as a whole, naming the rule's field", () => {
  const withRule = (rule: { name: string; version: string; where: string }) => {
    const p = clone(ServingPolicySchema, policy);
    p.segments = [
      create(SegmentRuleSchema, { name: "ok", version: "4", where: "tenant=acme" }),
      create(SegmentRuleSchema, rule),
    ];
    return encodePolicy(p);
  };
  const refuses = (rule: { name: string; version: string; where: string }, why: RegExp) =>
    assert.throws(
      () => decodePolicy(withRule(rule)),
      (err: unknown) => err instanceof KvValueError && why.test(err.message),
    );
  refuses({ name: "older", version: "4", where: "AGE>=60" }, /segments\[1\]\.where: AGE is a protected attribute/);
  refuses({ name: "ok", version: "4", where: "tenant=globex" }, /segments\[1\]\.name ok is used twice/);
  refuses({ name: "x", version: "", where: "tenant=globex" }, /segments\[1\]\.version is empty/);
  refuses({ name: "bad name", version: "4", where: "tenant=globex" }, /segments\[1\]\.name must be/);
  refuses({ name: "x", version: "4", where: "LIMIT_BAL>=lots" }, /segments\[1\]\.where: .*compared with a number/);
});

test("worker pool rules round-trip without a schema version change; a bad rule is refused naming the field", () => {
  const withPools = (pools: { version: string; label: string }[]) => {
    const p = clone(ServingPolicySchema, policy);
    p.pools = pools.map((x) => create(VersionPoolSchema, x));
    return p;
  };
  const p = withPools([
    { version: "3", label: "gpu" },
    { version: "5", label: "cpu" },
  ]);
  assert.equal(fromJsonString(ServingPolicySchema, encodePolicy(p)).schemaVersion, 2);
  assert.deepEqual(decodePolicy(encodePolicy(p)), p);
  assert.deepEqual(keptFields(p).pools, p.pools, "kept by a writer that changes another part");
  const refuses = (pools: { version: string; label: string }[], why: RegExp) =>
    assert.throws(() => decodePolicy(encodePolicy(withPools(pools))), why);
  refuses([{ version: "", label: "gpu" }], /pools\[0\]\.version must be a version number, got ""/);
  refuses([{ version: "3", label: "GPU" }], /pools\[0\]\.label must be lower-case letters/);
  refuses([{ version: "3", label: "" }], /pools\[0\]\.label/);
  refuses(
    [
      { version: "3", label: "gpu" },
      { version: "3", label: "cpu" },
    ],
    /pools\[1\]\.version 3 has a rule already/,
  );
});
