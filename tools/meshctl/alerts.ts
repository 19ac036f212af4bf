import { ConnectError, createClient } from "@connectrpc/connect";
import { fromBinary } from "@bufbuild/protobuf";
import { timestampMs } from "@bufbuild/protobuf/wkt";
import { AlertSchema, AlertState, AlertDirection, type Alert } from "../../gen/scoremesh/alert/v1/alert_pb.js";
import { ListAlertsResponseSchema, MonitorService } from "../../gen/scoremesh/monitor/v1/monitor_pb.js";
import { createGrpcTransport } from "../../services/lib/rpc/index.js";
import { alertSubject, ALERT_SUBJECT_PREFIX } from "../../services/monitor/alerts/alert-message.js";
import { withNats } from "./nats.js";
import { CliError, messageJson, printJson, type Output } from "./output.js";
import { age } from "./reviews.js";
import type { MeshTarget } from "./target.js";

/** `meshctl alerts [--model M] [--active]`: the monitor's alerts, firing first (rule, model, state, value, since). */
export async function alerts(
  target: MeshTarget,
  opts: { model?: string; active?: boolean },
  out: Output,
): Promise<void> {
  const t = createGrpcTransport({ address: target.monitor(), credentials: target.credentials() });
  try {
    const r = await createClient(MonitorService, t).listAlerts(
      { model: opts.model, activeOnly: opts.active === true },
      { timeoutMs: 5000 },
    );
    if (out.json) return printJson(messageJson(ListAlertsResponseSchema, r));
    if (r.intervalS === 0) console.log("the monitor's alert engine is off (MONITOR_ALERTS_INTERVAL_MS=0)");
    const active = r.alerts.filter((a) => a.state !== AlertState.OK).length;
    console.log(`alerts: ${active} pending or firing of ${r.alerts.length} rules with a reading`);
    const now = Date.now();
    for (const a of r.alerts) console.log(alertLine(a, now));
  } catch (err) {
    throw new CliError(`monitor at ${t.address}: ${ConnectError.from(err).rawMessage}`);
  } finally {
    t.close();
  }
}

/**
 * `meshctl alerts --watch [--model M]`: each change of state as the monitor publishes it on NATS
 * (`scoremesh.alerts.<model>`), one line (or one JSON object) per change, until interrupted.
 */
export async function watchAlerts(target: MeshTarget, opts: { model?: string }, out: Output): Promise<void> {
  const subject = opts.model ? alertSubject(opts.model) : `${ALERT_SUBJECT_PREFIX}.>`;
  await withNats(target, async (nc) => {
    const sub = nc.subscribe(subject);
    await nc.flush();
    process.once("SIGINT", () => sub.unsubscribe());
    if (!out.json) console.error(`following ${subject} (Ctrl-C to stop)`);
    for await (const m of sub) {
      const a = fromBinary(AlertSchema, m.data);
      if (out.json) printJson(messageJson(AlertSchema, a));
      else console.log(`${new Date().toISOString()} ${STATE[a.previous] ?? "?"} →${alertLine(a, Date.now())}`);
    }
  });
}

const STATE: Record<number, string> = {
  [AlertState.OK]: "ok",
  [AlertState.PENDING]: "pending",
  [AlertState.FIRING]: "firing",
};

/** One alert for people: rule, model vN, subject, state, value vs threshold (sample when short), since. */
export function alertLine(a: Alert, now: number): string {
  const where = `${a.model || "-"}${a.modelVersion ? ` v${a.modelVersion}` : ""}${a.subject ? ` ${a.subject}` : ""}`;
  const side = a.direction === AlertDirection.BELOW ? "<" : ">";
  const short = a.sample < a.minSample ? ` (sample ${a.sample} of ${a.minSample})` : "";
  const since = a.since ? age(now - timestampMs(a.since)) : "-";
  return (
    `  ${(STATE[a.state] ?? "?").padEnd(7)} ${a.rule.padEnd(13)} ${where}  ` +
    `${value(a)} (alert ${side} ${a.threshold})${short}  since ${since}`
  );
}

function value(a: Alert): string {
  if (a.rule === "latency_p99") return `${a.value.toFixed(1)} ms`;
  if (a.rule === "breaker_open" || a.rule === "cpu_fallback") return a.value ? "yes" : "no";
  return a.value.toFixed(3);
}
