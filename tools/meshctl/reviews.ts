import { ConnectError, createClient } from "@connectrpc/connect";
import { ListReviewsResponseSchema, MonitorService } from "../../gen/scoremesh/monitor/v1/monitor_pb.js";
import { Route } from "../../gen/scoremesh/scoring/v1/scoring_pb.js";
import { createGrpcTransport } from "../../services/lib/rpc/index.js";
import { CliError, messageJson, printJson, type Output } from "./output.js";
import type { MeshTarget } from "./target.js";

/** `meshctl reviews [--limit N] [--model M]`: the monitor's review queue, newest first. */
export async function reviews(
  target: MeshTarget,
  limit: number,
  model: string | undefined,
  out: Output,
): Promise<void> {
  const t = createGrpcTransport({ address: target.monitor(), credentials: target.credentials() });
  try {
    const r = await createClient(MonitorService, t).listReviews({ pageSize: limit, model }, { timeoutMs: 5000 });
    if (out.json) return printJson(messageJson(ListReviewsResponseSchema, r));
    console.log(
      `review cases: ${r.cases.length} shown, ${r.queued} held by the monitor, ${r.total} review decisions since it started`,
    );
    for (const c of r.cases) {
      const at = c.decidedAt
        ? new Date(Number(c.decidedAt.seconds) * 1000 + Math.floor(c.decidedAt.nanos / 1e6)).toISOString()
        : "?";
      const route = (Route[c.route] ?? String(c.route)).toLowerCase();
      const reasons =
        c.reasons
          .slice(0, 3)
          .map((x) => x.code)
          .join(",") || "-";
      console.log(
        `  ${at}  ${c.requestId}  ${c.model} v${c.modelVersion}  score ${c.score.toFixed(4)}  ${route}${c.degraded ? " degraded" : ""}  reasons ${reasons}  trace ${c.traceId}`,
      );
    }
  } catch (err) {
    throw new CliError(`monitor at ${t.address}: ${ConnectError.from(err).rawMessage}`);
  } finally {
    t.close();
  }
}
