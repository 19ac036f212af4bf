/**
 * The live dashboard in a real browser: a real mesh (champion 3, canary 4 at 30 %, shadow 2 on 30 % of the rows) under load from four concurrent
 * callers through the edge; headless Chromium (Debian's `chromium`, driven by playwright-core) opens the
 * monitor's page: every chart renders with data (its chart.js datasets hold points and its canvas has drawn
 * pixels), the segment tables are there, the outcomes by tier (200 of the load's decisions reported with their rows'
 * labels) and the cost per 1,000 decisions are drawn, the model cards of the champion and the canary show their intended use,
 * limitations and per-segment table, no console error, and the page updates without reloading (a value
 * changes while a marker set in the page survives). A screenshot goes to test/artifacts/dashboard.png
 * (git-ignored; CI keeps it as an artifact).
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { chromium, type Browser } from "playwright-core";
import { PROJECT_ROOT } from "../../deploy/local/mesh.js";
import { Outcome } from "../../gen/scoremesh/scoring/v1/scoring_pb.js";
import { loadCsv } from "../../tools/trainer/csv.js";
import { CREDIT_CSV } from "../support/credit-data.js";
import { load, sleep, startMeshFixture, type MeshFixture } from "../support/mesh-fixture.js";

const MODEL = "credit-default";
const CANARY = "4";
const SHADOW = "2";
const CHROMIUM = process.env["CHROMIUM_PATH"] ?? "/usr/bin/chromium";
const SHOT = join(PROJECT_ROOT, "test", "artifacts", "dashboard.png");
/** Outcomes reported before the page opens (the load's first decisions, each with its row's label). */
const OUTCOMES = 200;
/** The label of each row the load sends (test/support creditRows: the data's first rows, label removed). */
const LABELS = new Map(
  loadCsv(CREDIT_CSV).rows.map((r) => {
    const { default: label, ...inputs } = r;
    return [JSON.stringify(inputs), label === 1];
  }),
);
const CHARTS = [
  "chart-throughput",
  "chart-latency",
  "chart-degraded",
  "chart-routes",
  "chart-scores",
  "chart-psi",
  "chart-band",
  "chart-distance",
  "chart-feature-psi",
  "chart-band-hour",
];

interface ChartFacts {
  id: string;
  points: number;
  positive: number;
  painted: number;
}

/**
 * Per chart: finite data points (and those above 0) over its datasets, and canvas pixels that are not transparent. Browser-side code
 * is passed as text (this project compiles without the DOM's types).
 */
const CHART_FACTS = `(${JSON.stringify(CHARTS)}).map((id) => {
  const c = window.__dashboard.charts[id];
  const values = (c ? c.data.datasets : []).flatMap((d) => d.data).filter((x) => typeof x === "number" && isFinite(x));
  const points = values.length;
  const positive = values.filter((x) => x > 0).length;
  const canvas = document.getElementById(id);
  const px = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  let painted = 0;
  for (let i = 3; i < px.length; i += 4) if (px[i] > 0) painted++;
  return { id, points, positive, painted };
})`;

describe("dashboard: the monitor's live page in headless Chromium", () => {
  let fx: MeshFixture;
  let browser: Browser;
  let traffic: ReturnType<typeof load>;
  const scored: { requestId: string; defaulted: boolean }[] = [];
  const errors: string[] = [];

  before(async () => {
    assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: install Debian's chromium (or set CHROMIUM_PATH)`);
    // The cost targets scraped every 2 s (15 s by default), so that the cost panel has its figures within the test.
    fx = await startMeshFixture({ MONITOR_COST_INTERVAL_MS: "2000" });
    const canary = await fx.meshctl("canary", MODEL, CANARY, "--percent", "30");
    assert.equal(canary.code, 0, canary.stderr);
    const shadow = await fx.meshctl("shadow", MODEL, SHADOW, "--sample", "0.3");
    assert.equal(shadow.code, 0, shadow.stderr);
    let n = 0;
    traffic = load(fx, {
      callers: 4,
      timeoutMs: 10_000, // a loose bound: this machine also runs a browser
      call: async (inputs, timeoutMs) => {
        const res = await fx.scoring.score({ model: MODEL, entityId: `dash-${n++}`, inputs }, { timeoutMs });
        scored.push({ requestId: res.requestId, defaulted: LABELS.get(JSON.stringify(inputs))! });
        return res;
      },
    });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
  });
  after(async () => {
    await traffic?.stop();
    await browser?.close();
    await fx?.close();
  });

  test("every chart renders with data, the page updates without reload, no console error", async () => {
    // Two complete 2 s buckets and the canary's first decisions before the page opens; the first decisions'
    // outcomes (their rows' labels) reported, for the outcomes panel.
    await sleep(5000);
    const reports = scored.slice(0, OUTCOMES);
    assert.equal(reports.length, OUTCOMES, "decisions to report outcomes for");
    for (let i = 0; i < reports.length; i += 20)
      await Promise.all(
        reports.slice(i, i + 20).map((r) =>
          fx.scoring.reportOutcome({
            requestId: r.requestId,
            outcome: r.defaulted ? Outcome.DEFAULTED : Outcome.REPAID,
            observedOn: "2026-10-01",
          }),
        ),
      );
    const page = await browser.newPage({ viewport: { width: 1500, height: 1100 } });
    page.on("console", (m) => {
      if (m.type() === "error") errors.push(m.text());
    });
    page.on("pageerror", (e) => errors.push(e.message));
    const base = `http://${fx.mesh.env["MONITOR_HTTP_ADDR"]}`;
    await page.goto(`${base}/`);
    await page.waitForFunction("window.__dashboard && window.__dashboard.state.updates >= 1", undefined, {
      timeout: 15_000,
    });

    const facts = await page.evaluate<ChartFacts[]>(CHART_FACTS);
    for (const f of facts) {
      assert.ok(f.points > 0, `${f.id}: no data points`);
      // Everything but the degraded rate (0 on a healthy mesh) has values above 0.
      if (f.id !== "chart-degraded") assert.ok(f.positive > 0, `${f.id}: every point is 0`);
      assert.ok(f.painted > 500, `${f.id}: the canvas is blank (${f.painted} pixels drawn)`);
    }
    for (const attribute of ["age_band", "sex", "marriage", "tenant"])
      assert.ok(await page.locator(`table[data-attribute="${attribute}"]`).count(), `segment table ${attribute}`);
    // The Alerts panel: the engine's rules (evaluated every 5 s) with their state and value against threshold.
    await page.waitForFunction(`document.getElementById("alerts").textContent.includes("latency_p99")`, undefined, {
      timeout: 15_000,
    });
    const alertCells = await page.locator("#alerts td").allTextContents();
    for (const rule of ["error_rate", "latency_p99", "segment_ratio"])
      assert.ok(alertCells.includes(rule), `the Alerts panel lists ${rule}`);
    assert.ok(
      alertCells.some((c) => / ms > 250/.test(c)),
      "value against threshold",
    );
    // Outcomes by tier (the reported outcomes) and cost per 1,000 decisions (the mesh's own scrapes), polled every 5 s.
    await page.waitForFunction(
      `document.querySelector("#outcomes table") && window.__outcomesPanel.chart &&
        window.__outcomesPanel.chart.data.datasets[0].data.some((x) => x > 0)`,
      undefined,
      { timeout: 20_000 },
    );
    const tiers = await page.locator("#outcomes td").allTextContents();
    assert.ok(tiers.includes("approve"), `the outcomes panel has the approve tier: ${tiers.join(" ")}`);
    const costRows = await page.locator("#cost-services td").allTextContents();
    for (const service of ["validator", "feature", "router", "model-worker", "monitor"])
      assert.ok(costRows.includes(service), `the cost panel has ${service}: ${costRows.join(" ")}`);
    const versions = await page.locator("#versions td").allTextContents();
    assert.ok(versions.includes(CANARY), "the versions table lists the canary");
    const legend = await page.evaluate<string[]>(
      `window.__dashboard.charts["chart-scores"].data.datasets.map((d) => d.label)`,
    );
    for (const role of ["champion", "canary", "shadow"])
      assert.ok(
        legend.some((l) => l.includes(`(${role},`)),
        `the score chart has the ${role}: ${legend.join("; ")}`,
      );

    // The model cards of the champion and the canary: intended use, limitations and the per-segment table.
    await page.waitForFunction("window.dashboardCards && window.dashboardCards.state.updates >= 1", undefined, {
      timeout: 15_000,
    });
    for (const [version, role] of [
      ["3", "champion"],
      [CANARY, "canary"],
    ]) {
      const card = page.locator(`article[data-card="${MODEL}/${version}"]`);
      assert.match((await card.locator("h3").textContent()) ?? "", new RegExp(`version ${version} · ${role}`));
      assert.match((await card.locator(".intended-use").textContent()) ?? "", /credit card holder defaults/);
      assert.ok((await card.locator("ul.limitations li").count()) >= 5, `${role} card: its limitations`);
      const groups = await card.locator(`table[data-card-segments="${MODEL}/${version}"] tr`).allTextContents();
      for (const group of ["<25", "female", "married", "graduate school"])
        assert.ok(
          groups.some((g) => g.includes(group)),
          `${role} card: segment ${group} in ${groups.length} rows`,
        );
      assert.ok(
        groups.some((g) => /sex: lowest ÷ highest approval rate 0\.\d{3} \(male ÷ female\)/.test(g)),
        `${role} card: the sex ratio`,
      );
    }

    // Live: a value changes while the page itself stays (a marker set in it survives, one navigation only).
    await page.evaluate("window.__marker = 42");
    const before = await page.locator("#kpi-decisions").textContent();
    await page.waitForFunction(
      `document.getElementById("kpi-decisions").textContent !== ${JSON.stringify(before)}`,
      undefined,
      {
        timeout: 15_000,
      },
    );
    const after = await page.evaluate<{ marker: number; navigations: number }>(
      `({ marker: window.__marker, navigations: performance.getEntriesByType("navigation").length })`,
    );
    assert.deepEqual(after, { marker: 42, navigations: 1 }, "updated in place, not reloaded");

    const s = await traffic.stop();
    assert.deepEqual(s.failed, [], "every call of the load was answered");
    await sleep(2500); // one more poll: the charts as the load ends
    mkdirSync(join(PROJECT_ROOT, "test", "artifacts"), { recursive: true });
    await page.screenshot({ path: SHOT, fullPage: true });
    assert.deepEqual(errors, [], "no console error");
    console.log(
      `# ${s.ok} calls; charts: ${facts.map((f) => `${f.id.slice(6)} ${f.points} points`).join(", ")}; screenshot ${SHOT}`,
    );
  });
});
