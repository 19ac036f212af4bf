import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import type { ScoreResponse } from "../../gen/scoremesh/scoring/v1/scoring_pb.js";
import { creditRows } from "../support/credit-data.js";
import { sleep, startMeshFixture, type MeshFixture } from "../support/mesh-fixture.js";

const MODEL = "credit-default";
const CHAMPION = "3"; // the seed champion
const SHADOW = "4";
const rows = creditRows(200);
const ENTITIES = rows.map((_, i) => `S-${i}`);

/** What a client sees of a response: everything the shadow must not change. */
const seen = (r: ScoreResponse) => ({
  score: r.score,
  decision: r.decision,
  version: r.modelVersion,
  route: r.route,
  degraded: r.degraded,
  reasons: r.reasons.map((x) => x.code),
});

describe("shadow: a challenger scores live rows off the hot path, pairs reach the monitor", () => {
  let fx: MeshFixture;

  /** Scores every row through the public API, 8 at a time; any failed call fails the test. */
  const scoreAll = async () => {
    const out: ReturnType<typeof seen>[] = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < rows.length) {
          const i = next++;
          const res = await fx.scoring.score({ model: MODEL, entityId: ENTITIES[i]!, inputs: rows[i]! });
          out[i] = seen(res);
        }
      }),
    );
    return out;
  };
  const pairsOf = async () => {
    const s = (await fx.monitor.getStats({})).shadows.find((x) => x.model === MODEL && x.shadowVersion === SHADOW);
    return s ?? { pairs: 0n, agreementRate: NaN, meanAbsScoreDiff: NaN, championVersion: "" };
  };
  const waitForPairs = async (atLeast: bigint, timeoutMs = 15_000) => {
    const end = Date.now() + timeoutMs;
    while ((await pairsOf()).pairs < atLeast) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${atLeast} pairs (have ${(await pairsOf()).pairs})`);
      await sleep(100);
    }
  };

  before(async () => {
    fx = await startMeshFixture();
  });
  after(async () => {
    await fx?.close();
  });

  test("meshctl shadow refuses a version no worker has, the champion, and a bad --sample", async () => {
    // Four refusals at once (each a meshctl process): none of them changes the policy.
    const [missing, champion, bad, off] = await Promise.all([
      fx.meshctl("shadow", MODEL, "9", "--sample", "0.5"),
      fx.meshctl("shadow", MODEL, CHAMPION, "--sample", "0.5"),
      fx.meshctl("shadow", MODEL, SHADOW, "--sample", "2"),
      fx.meshctl("shadow", MODEL, "--off"),
    ]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /has no version 9/);
    assert.equal(champion.code, 1);
    assert.match(champion.stderr, /is the champion/);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--sample must be a number in \(0, 1\]/);
    assert.equal(off.code, 1, "no shadow to remove");
  });

  test("with a shadow at sample 1.0, responses are identical to champion-only ones and every row makes a pair", async () => {
    const championOnly = await scoreAll();
    assert.ok(championOnly.every((r) => r.version === CHAMPION && !r.degraded));

    const set = await fx.meshctl("shadow", MODEL, SHADOW, "--sample", "1", "--json");
    assert.equal(set.code, 0, set.stderr);
    const p = JSON.parse(set.stdout) as { championVersion: string; shadow: { version: string; sampleRate: number } };
    assert.deepEqual([p.championVersion, p.shadow], [CHAMPION, { version: SHADOW, sampleRate: 1 }]);
    // The router takes the shadow in when the watch delivers it: wait for its first pairs.
    const end = Date.now() + 15_000;
    while ((await pairsOf()).pairs === 0n) {
      if (Date.now() > end) throw new Error("no shadow pair reached the monitor");
      await fx.scoring.score({ model: MODEL, entityId: "warm-up", inputs: rows[0]! });
      await sleep(100);
    }
    await sleep(500); // pairs of the warm-up calls still under way
    const before = (await pairsOf()).pairs;

    const withShadow = await scoreAll();
    assert.deepEqual(withShadow, championOnly, "same scores, decisions, versions, routes and reasons");
    await waitForPairs(before + BigInt(rows.length));
    const s = await pairsOf();
    assert.equal(s.pairs, before + BigInt(rows.length), "one pair per row, no more");
    assert.equal(s.championVersion, CHAMPION);
    assert.ok(s.agreementRate >= 0 && s.agreementRate <= 1, `agreement ${s.agreementRate}`);
    assert.ok(s.meanAbsScoreDiff > 0 && s.meanAbsScoreDiff < 1, `mean |score diff| ${s.meanAbsScoreDiff}`);
    console.log(
      `# shadow ${SHADOW} vs champion ${CHAMPION}: ${s.pairs} pairs, mean |score diff| ${s.meanAbsScoreDiff.toFixed(4)}, agreement ${(100 * s.agreementRate).toFixed(1)} %`,
    );
    const stats = await fx.monitor.getStats({});
    const decisions = stats.versions.filter((v) => v.model === MODEL).map((v) => v.modelVersion);
    assert.deepEqual(decisions, [CHAMPION], "shadow records are no decisions");

    const http = `http://${fx.mesh.env["MONITOR_HTTP_ADDR"]}`;
    const json = (await (await fetch(`${http}/stats.json`)).json()) as { shadows: { pairs: number }[] };
    assert.equal(json.shadows[0]!.pairs, Number(s.pairs), "/stats.json shows the pairs");
    const metrics = await (await fetch(`${http}/metrics`)).text();
    assert.match(
      metrics,
      new RegExp(
        `^scoremesh_shadow_pairs\\{model="${MODEL}",champion="${CHAMPION}",shadow="${SHADOW}"\\} ${s.pairs}$`,
        "m",
      ),
    );
    assert.match(metrics, /^scoremesh_shadow_decision_agreement\{[^}]*\} (0|1|0\.\d+)$/m);

    const status = await fx.meshctl("shadow", MODEL);
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, new RegExp(`shadow ${SHADOW} on 100 % of champion ${CHAMPION}'s rows`));
    assert.match(status.stdout, new RegExp(`champion ${CHAMPION} vs shadow ${SHADOW}: \\d+ pairs`));
    const shown = await fx.meshctl("policy", MODEL, "--json");
    assert.equal(shown.code, 0, shown.stderr);
    const policy = JSON.parse(shown.stdout) as { shadow: { version: string }; shadowPairs: { pairs: number }[] };
    assert.equal(policy.shadow.version, SHADOW);
    assert.ok(policy.shadowPairs[0]!.pairs >= rows.length);
  });

  test("shadow --off stops new pairs; the champion keeps answering", async () => {
    const off = await fx.meshctl("shadow", MODEL, "--off", "--json");
    assert.equal(off.code, 0, off.stderr);
    assert.equal((JSON.parse(off.stdout) as { shadow?: unknown }).shadow, undefined);
    await sleep(1000); // the watch delivers it; pairs already under way arrive
    const before = (await pairsOf()).pairs;
    const answers = await scoreAll();
    assert.ok(answers.every((r) => r.version === CHAMPION && !r.degraded));
    await sleep(1000); // more than the routers' flush interval (100 ms)
    assert.equal((await pairsOf()).pairs, before, "no pair after --off");
    const status = await fx.meshctl("shadow", MODEL, "--json");
    assert.equal((JSON.parse(status.stdout) as { shadow: unknown }).shadow, null);
  });
});
