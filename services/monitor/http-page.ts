import { createServer, type Server } from "node:http";
import { dashboardRoutes } from "./dashboard/http.js";
import type { DashboardFeed } from "./dashboard/feed.js";
import type { DecisionMetrics } from "./metrics.js";
import type { ScoreDriftWatch } from "./score-drift.js";
import type { ReviewQueue } from "./review-queue.js";
import type { DecisionStats } from "./stats.js";
import type { WorkerTable, WorkerView } from "./worker-table.js";
import type { WorkerWatch } from "./worker-watch.js";
import { driftJson, type DriftWatch } from "./drift/index.js";

/** What the page shows. */
interface PageSources {
  stats: DecisionStats;
  drift?: ScoreDriftWatch;
  reviews: ReviewQueue;
  workers: WorkerTable;
  workerWatch: Pick<WorkerWatch, "state">;
  /** The live dashboard's data: with it, / is the dashboard and the table moves to /table. */
  dashboard?: DashboardFeed;
  /** Online drift per feature (the dashboard's `drift` section). */
  featureDrift?: DriftWatch;
}

/**
 * The monitor's HTTP side: the live dashboard (/, /dashboard.json, /assets/*: services/monitor/dashboard), the
 * status table (/table; / without a dashboard), Prometheus metrics (/metrics) and JSON stats (/stats.json).
 */
export function startHttpPage(
  opts: PageSources & { address: string; metrics: DecisionMetrics },
): Promise<{ server: Server; port: number }> {
  const { metrics } = opts;
  const base = () => ({ ...snapshot(opts), ...(opts.featureDrift ? { drift: driftJson(opts.featureDrift) } : {}) });
  const dashboard = opts.dashboard ? dashboardRoutes(opts.dashboard, base) : undefined;
  const tablePath = dashboard ? "/table" : "/";
  const server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    if (req.method !== "GET") {
      res.writeHead(405, { allow: "GET" }).end();
    } else if (path === "/metrics") {
      metrics.registry.metrics().then(
        (text) => res.writeHead(200, { "content-type": metrics.registry.contentType }).end(text),
        () => res.writeHead(500).end(),
      );
    } else if (path === "/stats.json") {
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(snapshot(opts)));
    } else if (dashboard?.(path ?? "/", res)) {
      // answered by the dashboard
    } else if (path === tablePath) {
      res.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end(page(opts));
    } else {
      res.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
    }
  });
  const i = opts.address.lastIndexOf(":");
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(Number(opts.address.slice(i + 1)), opts.address.slice(0, i), () => {
      const a = server.address();
      resolve({ server, port: typeof a === "object" && a ? a.port : 0 });
    });
  });
}

function snapshot({ stats: s, reviews, workers, workerWatch, drift }: PageSources) {
  return {
    decisions_total: s.total,
    review_cases: { queued: reviews.queued(), total: reviews.total, max: reviews.max },
    latency_ms: { p50: s.latencyQuantile(0.5), p95: s.latencyQuantile(0.95), p99: s.latencyQuantile(0.99) },
    versions: [...s.versions.values()].map((c) => ({
      model: c.model,
      version: c.modelVersion,
      decisions: c.decisions,
      approve: c.approve,
      review: c.review,
      decline: c.decline,
      degraded: c.degraded,
      mean_score: c.decisions ? c.scoreSum / c.decisions : 0,
    })),
    shadows: s.shadows.list().map((a) => ({
      model: a.model,
      champion_version: a.championVersion,
      shadow_version: a.shadowVersion,
      pairs: a.pairs,
      mean_abs_score_diff: a.meanAbsScoreDiff,
      agreement_rate: a.agreementRate,
    })),
    worker_registry: workerWatch.state(),
    workers: workers.list(Date.now()).map(workerJson),
    score_drift: (drift?.readings() ?? []).map((d) => ({
      model: d.model,
      version: d.version,
      level: d.level,
      psi: d.psi,
      ks: d.ks,
      ks_significant: d.ksSignificant,
      sample: d.sample,
    })),
  };
}

/** A worker in /stats.json. */
function workerJson(w: WorkerView) {
  return {
    address: w.address,
    instance: w.instance,
    pid: w.pid,
    providers_requested: w.providersRequested,
    providers_active: w.providersActive,
    cpu_fallback: w.cpuFallback,
    fallback_reason: w.fallbackReason || null,
    fallbacks: w.fallbacks,
    models: w.models,
    ready: w.ready,
    refused: w.refused,
    started_at: w.startedAt,
    updated_at: w.updatedAt,
    age_s: Math.round(w.ageMs / 1000),
  };
}

function page(sources: PageSources): string {
  const snap = snapshot(sources);
  const esc = (x: unknown) => String(x).replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);
  const rows = snap.versions
    .map(
      (v) =>
        `<tr><td>${esc(v.model)}</td><td>${esc(v.version)}</td><td>${v.decisions}</td><td>${v.approve}</td><td>${v.review}</td>` +
        `<td>${v.decline}</td><td>${v.degraded}</td><td>${v.mean_score.toFixed(4)}</td></tr>`,
    )
    .join("\n");
  const workerRows = snap.workers
    .map((w) => {
      const providers =
        esc(w.providers_active.join(", ") || "none yet") +
        (w.cpu_fallback
          ? `<div class="warn">CPU fallback: ${esc(w.fallback_reason)}</div>`
          : w.fallback_reason
            ? `<div class="warn">${esc(w.fallback_reason)}</div>`
            : "");
      const notReady = w.models.filter((m) => !m.ready).map((m) => `${m.model}/${m.version}`);
      const models =
        esc(w.ready.join(", ") || "none") +
        (notReady.length ? `<div>loading: ${esc(notReady.join(", "))}</div>` : "") +
        w.refused
          .map((r) => `<div class="warn">refused ${esc(`${r.model}/${r.version}`)}: ${esc(r.reason)}</div>`)
          .join("");
      return (
        `<tr><td class="l">${esc(w.address)}<div class="dim">${esc(w.instance)}</div></td><td class="l">${esc(w.providers_requested.join(", "))}</td>` +
        `<td class="l">${providers}</td><td class="l">${models}</td><td>${esc(w.started_at)}</td><td>${w.age_s} s ago</td></tr>`
      );
    })
    .join("\n");
  const registryNote = {
    watching: "",
    connecting: ` <span class="warn">(not connected to NATS yet: the workers' records are not known)</span>`,
    retrying: ` <span class="warn">(the worker bucket cannot be read yet: retrying)</span>`,
    disconnected: ` <span class="warn">(NATS is away: these records are the last seen, and age out ${sources.workers.ttlMs / 1000} s after their last report)</span>`,
  }[snap.worker_registry];
  return `<!doctype html>
<html><head><meta charset="utf-8"><meta http-equiv="refresh" content="5"><title>scoremesh monitor</title>
<style>body{font:14px system-ui,sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 10px;text-align:right;vertical-align:top}th{background:#f4f4f4}td.l{text-align:left}.warn{color:#a40000;font-weight:600}.dim{color:#777;font-size:12px}</style>
</head><body>
<h1>scoremesh monitor</h1>
<p>Decisions: <b>${snap.decisions_total}</b> &middot; router latency p50 ${snap.latency_ms.p50.toFixed(2)} ms, p95 ${snap.latency_ms.p95.toFixed(2)} ms, p99 ${snap.latency_ms.p99.toFixed(2)} ms</p>
<p>Review queue: <b>${snap.review_cases.queued}</b> cases held (newest ${snap.review_cases.max} kept; ${snap.review_cases.total} review decisions since the monitor started) &middot; list them with <code>npm run meshctl -- reviews</code></p>
<table><tr><th>model</th><th>version</th><th>decisions</th><th>approve</th><th>review</th><th>decline</th><th>degraded</th><th>mean score</th></tr>
${rows}
</table>
<h2>Model workers</h2>
<p>${snap.workers.length} model worker${snap.workers.length === 1 ? "" : "s"} reporting${registryNote}</p>
<table><tr><th>worker</th><th>providers requested</th><th>providers active</th><th>model versions ready</th><th>started</th><th>last report</th></tr>
${workerRows}
</table>
<p><a href="/metrics">/metrics</a> &middot; <a href="/stats.json">/stats.json</a></p>
</body></html>
`;
}
