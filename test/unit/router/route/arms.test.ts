import { test } from "node:test";
import assert from "node:assert/strict";
import { create } from "@bufbuild/protobuf";
import { FeatureRowSchema, RouteRequestSchema } from "../../../../gen/scoremesh/router/v1/router_pb.js";
import type { ModelCard } from "../../../../services/lib/model/index.js";
import { parseWhere } from "../../../../services/lib/segments/index.js";
import { inCanary } from "../../../../services/router/canary/assignment.js";
import { inRowOrder, splitByArm } from "../../../../services/router/route/arms.js";
import type { ServedSegmentRule } from "../../../../services/router/segments/segment-table.js";

const MODEL = "credit-default";
const HASH = "sha256:spec";
const rule = (name: string, version: string, where: string, ready = true): ServedSegmentRule => ({
  name,
  version,
  where,
  conditions: parseWhere(where),
  ready,
});
const rows = Array.from({ length: 60 }, (_, i) =>
  create(FeatureRowSchema, {
    requestId: `r-${i}`,
    entityId: `E-${i}`,
    tenantId: i % 5 === 0 ? "acme" : "dev",
    labels: i % 3 === 0 ? { channel: "branch" } : {},
    routingInputs: { LIMIT_BAL: i * 10_000 },
  }),
);
const req = create(RouteRequestSchema, { model: MODEL, featureSpecHash: HASH, rows });

function deps(rules: ServedSegmentRule[], canary?: { version: string; percent: number }, otherSpec: string[] = []) {
  return {
    champions: { champion: () => "3", canary: () => canary },
    cards: (_m: string, v: string) =>
      ({ feature_spec_hash: otherSpec.includes(v) ? "sha256:other" : HASH }) as ModelCard,
    segments: { rulesFor: () => rules },
  };
}

/** Each row's (arm, version, segment) after the split. */
function assigned(groups: ReturnType<typeof splitByArm>) {
  return inRowOrder(
    groups,
    groups.map((g) => g.rows.map(() => [g.arm, g.version, g.segment ?? ""])),
  );
}

test("segments first, in order, first match wins; then the canary; then the champion", () => {
  const rules = [rule("acme", "2", "tenant=acme"), rule("branch", "4", "label.channel=branch")];
  const canary = { version: "5", percent: 30 };
  const got = assigned(splitByArm(req, "3", deps(rules, canary)));
  rows.forEach((r, i) => {
    const want =
      r.tenantId === "acme"
        ? ["segment", "2", "acme"]
        : r.labels["channel"] === "branch"
          ? ["segment", "4", "branch"]
          : inCanary(MODEL, r, 30)
            ? ["canary", "5", ""]
            : ["champion", "3", ""];
    assert.deepEqual(got[i], want, `row ${i}`);
  });
  assert.ok(
    got.some((g) => g[0] === "canary"),
    "the canary still takes unmatched rows",
  );
});

test("an input band [a, b) by the row's raw routing inputs", () => {
  const got = assigned(splitByArm(req, "3", deps([rule("mid", "4", "LIMIT_BAL>=200000 and LIMIT_BAL<300000")])));
  rows.forEach((_, i) => assert.equal(got[i]![1], i >= 20 && i < 30 ? "4" : "3", `row ${i}`));
});

test("a rule whose version cannot serve: its rows go to the champion, never to the canary, and never fail", () => {
  const canary = { version: "5", percent: 100 };
  for (const d of [
    deps([rule("branch", "9", "label.channel=branch", false)], canary),
    deps([rule("branch", "4", "label.channel=branch")], canary, ["4"]), // trained with another spec
  ]) {
    const got = assigned(splitByArm(req, "3", d));
    rows.forEach((r, i) =>
      assert.deepEqual(got[i], r.labels["channel"] === "branch" ? ["champion", "3", ""] : ["canary", "5", ""]),
    );
  }
});

test("no rules and no canary: one group, the champion's", () => {
  const groups = splitByArm(req, "3", deps([]));
  assert.equal(groups.length, 1);
  assert.equal(groups[0]!.rows.length, rows.length);
});
