import { ConnectError, createClient } from "@connectrpc/connect";
import { timestampMs, type Timestamp } from "@bufbuild/protobuf/wkt";
import {
  ListReviewsResponseSchema,
  MonitorService,
  ReviewStatus,
  type ReviewCase,
} from "../../gen/scoremesh/monitor/v1/monitor_pb.js";
import { Decision, Route } from "../../gen/scoremesh/scoring/v1/scoring_pb.js";
import { createGrpcTransport } from "../../services/lib/rpc/index.js";
import { CliError, messageJson, printJson, type Output } from "./output.js";
import type { MeshTarget } from "./target.js";

/**
 * `meshctl reviews [--limit N] [--model M] [--all]`: the monitor's durable review cases, oldest first, with their
 * age and state (--all: resolved ones too).
 */
export async function reviews(
  target: MeshTarget,
  opts: { limit: number; model?: string; all?: boolean },
  out: Output,
): Promise<void> {
  const t = createGrpcTransport({ address: target.monitor(), credentials: target.credentials() });
  try {
    const r = await createClient(MonitorService, t).listReviews(
      { pageSize: opts.limit, model: opts.model, includeResolved: opts.all === true },
      { timeoutMs: 5000 },
    );
    if (out.json) return printJson(messageJson(ListReviewsResponseSchema, r));
    console.log(
      `review cases: ${r.reviewCases.length} shown, ${r.queued} held by the monitor, ${r.total} review decisions since it started`,
    );
    const now = Date.now();
    for (const c of r.reviewCases) console.log(caseLine(c, now));
  } catch (err) {
    throw new CliError(`monitor at ${t.address}: ${ConnectError.from(err).rawMessage}`);
  } finally {
    t.close();
  }
}

/** One case for people: id, request, age, state, model, score, route, reasons, trace. */
export function caseLine(c: ReviewCase, now: number): string {
  const d = c.decision!;
  const route = (Route[d.route] ?? String(d.route)).toLowerCase();
  const reasons =
    d.reasons
      .slice(0, 3)
      .map((x) => x.code)
      .join(",") || "-";
  return (
    `  ${c.caseId}  ${d.requestId}  age ${age(now - ms(c.openedAt))}  ${state(c)}  ${d.model} v${d.modelVersion}` +
    `  score ${d.score.toFixed(4)}  ${route}${d.degraded ? " degraded" : ""}  reasons ${reasons}  trace ${d.traceId}`
  );
}

function state(c: ReviewCase): string {
  if (c.status === ReviewStatus.CLAIMED) return `CLAIMED by ${c.reviewer}`;
  if (c.status === ReviewStatus.RESOLVED) return `RESOLVED ${Decision[c.resolution]} by ${c.reviewer}`;
  return "OPEN";
}

function ms(t: Timestamp | undefined): number {
  return t ? timestampMs(t) : 0;
}

/** A duration for people: 42s, 7m, 3h, 2d. */
export function age(d: number): string {
  const s = Math.max(0, Math.floor(d / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.floor(s / 60)}m`;
  if (s < 172_800) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86_400)}d`;
}
