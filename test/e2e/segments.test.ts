import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { Code, ConnectError, createClient, type Client } from "@connectrpc/connect";
import { RouterService } from "../../gen/scoremesh/router/v1/router_pb.js";
import { Route } from "../../gen/scoremesh/scoring/v1/scoring_pb.js";
import { PROJECT_ROOT } from "../../deploy/local/mesh.js";
import { buildVector, ModelRepository, specHash } from "../../services/lib/model/index.js";
import { createGrpcTransport, fieldViolations, type ClosableTransport } from "../../services/lib/rpc/index.js";
import { creditRows } from "../support/credit-data.js";
import { sleep, startMeshFixture, type MeshFixture } from "../support/mesh-fixture.js";

const MODEL = "credit-default";
const CHAMPION = "3"; // the seed champion
const BRANCH = "4"; // the segment's version
const BAND = "2"; // the input band's version
const rows = creditRows(120);
/** Every third row says it came in at a branch, every third from the web, the rest carry no label. */
const labelsOf = (i: number): Record<string, string> =>
  i % 3 === 0 ? { channel: "branch", region: "north" } : i % 3 === 1 ? { channel: "web" } : {};

describe("segment rules: a version for a named segment, before the canary", () => {
  let fx: MeshFixture;
  const transports: ClosableTransport[] = [];
  const routers: Client<typeof RouterService>[] = [];
  let featureSpecHash = "";
  let spec: ReturnType<ModelRepository["spec"]>;

  /** One Route call straight to router `k` with every row and its labels (no inputs band: no routing inputs). */
  const viaRouter = async (k: number) =>
    (
      await routers[k]!.route(
        {
          model: MODEL,
          featureSpecHash,
          rows: rows.map((inputs, i) => ({
            requestId: `r-${k}-${i}`,
            entityId: `E-${i}`,
            features: Array.from(buildVector(spec, inputs).vector),
            labels: labelsOf(i),
          })),
        },
        { timeoutMs: 5000 },
      )
    ).decisions;

  before(async () => {
    fx = await startMeshFixture({}, { routers: 2 });
    spec = new ModelRepository(join(PROJECT_ROOT, "models")).spec(MODEL);
    featureSpecHash = specHash(spec);
    for (const r of ["router", "router-2"] as const) {
      const t = createGrpcTransport({ address: fx.mesh.addressOf(r), credentials: fx.mesh.credentials(r) });
      transports.push(t);
      routers.push(createClient(RouterService, t));
    }
  });
  after(async () => {
    transports.forEach((t) => t.close());
    await fx?.close();
  });

  test("a segment by label sends exactly its rows to its version on both routers; the others are untouched", async () => {
    const r = await fx.meshctl("segment", MODEL, "branch", BRANCH, "--where", "label.channel=branch", "--json");
    assert.equal(r.code, 0, r.stderr);
    const p = JSON.parse(r.stdout) as { schemaVersion: number; segments: unknown[] };
    assert.deepEqual(p.segments, [{ name: "branch", version: BRANCH, where: "label.channel=branch" }]);
    assert.equal(p.schemaVersion, 3, "a policy with segments is schema version 3");
    for (const k of [0, 1]) {
      await until(`router ${k + 1} to serve the segment`, async () =>
        (await viaRouter(k)).some((d) => d.modelVersion === BRANCH),
      );
      const decisions = await viaRouter(k);
      decisions.forEach((d, i) => {
        const want = labelsOf(i)["channel"] === "branch" ? BRANCH : CHAMPION;
        assert.equal(d.modelVersion, want, `router ${k + 1}, row ${i} (${JSON.stringify(labelsOf(i))})`);
        assert.equal(d.route, Route.PRIMARY, "a segment's answer is route PRIMARY");
        assert.equal(d.degraded, false);
      });
    }
    const shown = await fx.meshctl("policy", MODEL);
    assert.match(shown.stdout, /segment branch: label\.channel=branch → version 4/);
  });

  test("through the public API: labels and an input band reach the router, the first matching rule wins", async () => {
    const band = await fx.meshctl("segment", MODEL, "large-limits", BAND, "--where", "LIMIT_BAL>=300000");
    assert.equal(band.code, 0, band.stderr);
    // The band's version may still be loading for a moment: wait until the routers serve it.
    await until(
      "the band's version to serve",
      async () =>
        (await fx.scoring.score({ model: MODEL, inputs: { ...rows[1]!, LIMIT_BAL: 400000 } }, { timeoutMs: 10_000 }))
          .modelVersion === BAND,
    );
    const again: { modelVersion: string; route: Route }[] = [];
    for (let i = 0; i < rows.length; i += 8)
      again.push(
        ...(await Promise.all(
          rows
            .slice(i, i + 8)
            .map((inputs, j) =>
              fx.scoring.score({ model: MODEL, inputs, labels: labelsOf(i + j) }, { timeoutMs: 10_000 }),
            ),
        )),
      );
    let inBand = 0;
    again.forEach((a, i) => {
      const branch = labelsOf(i)["channel"] === "branch";
      const large = rows[i]!["LIMIT_BAL"]! >= 300000;
      inBand += large && !branch ? 1 : 0;
      const want = branch ? BRANCH : large ? BAND : CHAMPION;
      assert.equal(
        a.modelVersion,
        want,
        `row ${i}: LIMIT_BAL ${rows[i]!["LIMIT_BAL"]}, labels ${JSON.stringify(labelsOf(i))}`,
      );
      assert.equal(a.route, Route.PRIMARY);
    });
    assert.ok(inBand > 0, "some rows are in the band only");
  });

  test("the audit record of a segment's decision names the rule and the labels", async () => {
    const res = await fx.scoring.score({ model: MODEL, inputs: rows[0]!, labels: { channel: "branch" } });
    assert.equal(res.modelVersion, BRANCH);
    let shown = await fx.meshctl("audit", "show", res.requestId, "--json");
    for (let i = 0; i < 30 && shown.code !== 0; i++) {
      await sleep(500);
      shown = await fx.meshctl("audit", "show", res.requestId, "--json");
    }
    assert.equal(shown.code, 0, shown.stderr);
    const [rec] = JSON.parse(shown.stdout) as { record: Record<string, unknown> }[];
    assert.equal(rec!.record["assignment"], "ASSIGNMENT_SEGMENT");
    assert.equal(rec!.record["segmentRule"], "branch");
    assert.deepEqual(rec!.record["labels"], { channel: "branch" });
    assert.equal(rec!.record["route"], "ROUTE_PRIMARY");
  });

  test("a rule over AGE is refused with the reason; the policy is unchanged", async () => {
    const before = await fx.meshctl("policy", MODEL, "--json");
    const r = await fx.meshctl("segment", MODEL, "older", BRANCH, "--where", "AGE>=60");
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stderr, /refused: --where AGE is a protected attribute \(SEX, AGE, MARRIAGE\)/);
    const sex = await fx.meshctl("segment", MODEL, "x", BRANCH, "--where", "tenant=dev and SEX=2");
    assert.equal(sex.code, 1);
    assert.match(sex.stderr, /SEX is a protected attribute/);
    const after = await fx.meshctl("policy", MODEL, "--json");
    assert.deepEqual(
      (JSON.parse(after.stdout) as { segments: unknown }).segments,
      (JSON.parse(before.stdout) as { segments: unknown }).segments,
    );
  });

  test("bad labels are refused at the edge, each error naming its field", async () => {
    const err = await fx.scoring
      .score(
        { model: MODEL, inputs: rows[0]!, labels: { Channel: "branch", region: "a b", ok: "fine" } },
        { timeoutMs: 5000 },
      )
      .then(
        () => assert.fail("accepted bad labels"),
        (e: unknown) => ConnectError.from(e),
      );
    assert.equal(err.code, Code.InvalidArgument);
    const v = Object.fromEntries(fieldViolations(err).map((x) => [x.field, x.reason]));
    assert.deepEqual(v, { "labels.Channel": "BAD_KEY", "labels.region": "BAD_VALUE" });
    const many = Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`k${i}`, "v"]));
    const tooMany = await fx.scoring.score({ model: MODEL, inputs: rows[0]!, labels: many }).then(
      () => assert.fail("accepted 17 labels"),
      (e: unknown) => ConnectError.from(e),
    );
    assert.deepEqual(
      fieldViolations(tooMany).map((x) => [x.field, x.reason]),
      [["labels", "TOO_MANY"]],
    );
  });

  test("segment --off: the segment's rows go back to the champion on both routers", async () => {
    const r = await fx.meshctl("segment", MODEL, "branch", "--off", "--json");
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(
      (JSON.parse(r.stdout) as { segments: { name: string }[] }).segments.map((s) => s.name),
      ["large-limits"],
    );
    for (const k of [0, 1])
      await until(`router ${k + 1} to drop the segment`, async () =>
        (await viaRouter(k)).every((d) => d.modelVersion === CHAMPION),
      );
    const none = await fx.meshctl("segment", MODEL, "branch", "--off");
    assert.equal(none.code, 1);
    assert.match(none.stderr, /has no segment branch \(segments: large-limits\)/);
  });
});

async function until(what: string, fn: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(100);
  }
}
