import { createServer, type Server } from "node:http";
import type { DecisionMetrics } from "./metrics.js";
import type { ReviewQueue } from "./review-queue.js";
import type { DecisionStats } from "./stats.js";

/** The monitor's HTTP side: a status page (/), Prometheus metrics (/metrics) and JSON stats (/stats.json). */
export function startHttpPage(
  opts: { address: string; stats: DecisionStats; metrics: DecisionMetrics; reviews: ReviewQueue },
): Promise<{ server: Server; port: number }> {
  const { stats, metrics, reviews } = opts;
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
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(snapshot(stats, reviews)));
    } else if (path === "/") {
      res.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end(page(stats, reviews));
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

function snapshot(s: DecisionStats, reviews: ReviewQueue) {
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
  };
}

function page(s: DecisionStats, reviews: ReviewQueue): string {
  const snap = snapshot(s, reviews);
  const esc = (x: unknown) => String(x).replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);
  const rows = snap.versions
    .map(
      (v) =>
        `<tr><td>${esc(v.model)}</td><td>${esc(v.version)}</td><td>${v.decisions}</td><td>${v.approve}</td><td>${v.review}</td>` +
        `<td>${v.decline}</td><td>${v.degraded}</td><td>${v.mean_score.toFixed(4)}</td></tr>`,
    )
    .join("\n");
  return `<!doctype html>
<html><head><meta charset="utf-8"><meta http-equiv="refresh" content="5"><title>scoremesh monitor</title>
<style>body{font:14px system-ui,sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 10px;text-align:right}th{background:#f4f4f4}</style>
</head><body>
<h1>scoremesh monitor</h1>
<p>Decisions: <b>${snap.decisions_total}</b> &middot; router latency p50 ${snap.latency_ms.p50.toFixed(2)} ms, p95 ${snap.latency_ms.p95.toFixed(2)} ms, p99 ${snap.latency_ms.p99.toFixed(2)} ms</p>
<p>Review queue: <b>${snap.review_cases.queued}</b> cases held (newest ${snap.review_cases.max} kept; ${snap.review_cases.total} review decisions since the monitor started) &middot; list them with <code>npm run meshctl -- reviews</code></p>
<table><tr><th>model</th><th>version</th><th>decisions</th><th>approve</th><th>review</th><th>decline</th><th>degraded</th><th>mean score</th></tr>
${rows}
</table>
<p><a href="/metrics">/metrics</a> &middot; <a href="/stats.json">/stats.json</a></p>
</body></html>
`;
}
