import { readFileSync } from "node:fs";
import type { ServerResponse } from "node:http";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { DEFAULT_DRIFT_THRESHOLDS } from "../../lib/stats/index.js";
import type { DashboardFeed } from "./feed.js";
import { SCORE_BINS } from "./score-mix.js";
import { alertJson } from "../alerts/alert-json.js";

/** The page's files, read once at start: its HTML, script and style (services/monitor/dashboard/static) and chart.js. */
interface Asset {
  type: string;
  body: Buffer;
}

/** The folder of the page's own files: services/monitor/dashboard/static, next to dist/ (the image copies it). */
const STATIC = fileURLToPath(new URL("../../../../services/monitor/dashboard/static/", import.meta.url));

function loadAssets(): Map<string, Asset> {
  const chartJs = join(dirname(createRequire(import.meta.url).resolve("chart.js")), "chart.umd.min.js");
  const file = (path: string, type: string): Asset => ({ type, body: readFileSync(path) });
  return new Map([
    ["/", file(join(STATIC, "dashboard.html"), "text/html; charset=utf-8")],
    ["/assets/dashboard.js", file(join(STATIC, "dashboard.js"), "text/javascript; charset=utf-8")],
    ["/assets/dashboard-tables.js", file(join(STATIC, "dashboard-tables.js"), "text/javascript; charset=utf-8")],
    ["/assets/dashboard-cards.js", file(join(STATIC, "dashboard-cards.js"), "text/javascript; charset=utf-8")],
    ["/assets/dashboard-alerts.js", file(join(STATIC, "dashboard-alerts.js"), "text/javascript; charset=utf-8")],
    ["/assets/dashboard-outcomes.js", file(join(STATIC, "dashboard-outcomes.js"), "text/javascript; charset=utf-8")],
    ["/assets/dashboard-drift.js", file(join(STATIC, "dashboard-drift.js"), "text/javascript; charset=utf-8")],
    ["/assets/dashboard.css", file(join(STATIC, "dashboard.css"), "text/css; charset=utf-8")],
    ["/assets/chart.umd.min.js", file(chartJs, "text/javascript; charset=utf-8")],
  ]);
}

/**
 * The dashboard's routes on the monitor's page: `/` (the live page), `/assets/*` (its script, style and chart.js
 * from node_modules: no CDN, works offline), `/dashboard.json` (what the page draws, polled every 2 s) and
 * `/cards.json` (the model cards of each model's champion and canary, polled every 10 s).
 * Returns a handler that answers a GET it knows and returns false for any other path.
 */
export function dashboardRoutes(
  feed: DashboardFeed,
  base: () => Record<string, unknown>,
  clock: () => number = Date.now,
): (path: string, res: ServerResponse) => boolean {
  const assets = loadAssets();
  return (path, res) => {
    if (path === "/dashboard.json") {
      const body = JSON.stringify(dashboardSnapshot(feed, base(), clock()));
      res.writeHead(200, { "content-type": "application/json", "cache-control": "no-store" }).end(body);
      return true;
    }
    if (path === "/cards.json") {
      const body = JSON.stringify({ generated_at: new Date(clock()).toISOString(), cards: feed.cards.view() });
      res.writeHead(200, { "content-type": "application/json", "cache-control": "no-store" }).end(body);
      return true;
    }
    const a = assets.get(path);
    if (!a) return false;
    res.writeHead(200, { "content-type": a.type, "cache-control": "no-cache" }).end(a.body);
    return true;
  };
}

/** /dashboard.json: /stats.json's fields plus the time series, score distributions and segment table. */
export function dashboardSnapshot(feed: DashboardFeed, base: Record<string, unknown>, now: number) {
  return {
    ...base,
    generated_at: new Date(now).toISOString(),
    drift_thresholds: { warn: DEFAULT_DRIFT_THRESHOLDS.warn, alert: DEFAULT_DRIFT_THRESHOLDS.alert },
    timeline: feed.timeline.series(now),
    score_bins: SCORE_BINS,
    score_mix: feed.scores.view(),
    segment_rule: { min_sample: feed.segmentOptions.minSample, bound: feed.segmentOptions.bound },
    segments: feed.segments.view(),
    alerts: (feed.alerts?.list() ?? []).map(alertJson),
    ...Object.fromEntries([...feed.sections].map(([name, read]) => [name, read()])),
  };
}
