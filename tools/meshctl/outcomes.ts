import { ConnectError, createClient } from "@connectrpc/connect";
import {
  GetCostResponseSchema,
  GetOutcomesResponseSchema,
  MonitorService,
  OutcomeBandState,
  type GetCostResponse,
  type VersionOutcomes,
} from "../../gen/scoremesh/monitor/v1/monitor_pb.js";
import { Decision, Route } from "../../gen/scoremesh/scoring/v1/scoring_pb.js";
import { createGrpcTransport } from "../../services/lib/rpc/index.js";
import { CliError, messageJson, printJson, type Output } from "./output.js";
import type { MeshTarget } from "./target.js";

/** Calls the monitor with a client, naming the monitor in any failure. */
async function withMonitor<T>(target: MeshTarget, call: (c: ReturnType<typeof client>) => Promise<T>): Promise<T> {
  const t = createGrpcTransport({ address: target.monitor(), credentials: target.credentials() });
  try {
    return await call(client(t));
  } catch (err) {
    throw new CliError(`monitor at ${t.address}: ${ConnectError.from(err).rawMessage}`);
  } finally {
    t.close();
  }
}
const client = (t: ReturnType<typeof createGrpcTransport>) => createClient(MonitorService, t);
const pct = (x: number) => `${(100 * x).toFixed(1)} %`;
const opt = (x: number | undefined, digits = 4) => (x === undefined ? "-" : x.toFixed(digits));

/** `meshctl outcomes MODEL`: per version, realised vs predicted default rate per tier, calibration error, AUC. */
export async function outcomes(target: MeshTarget, model: string, out: Output): Promise<void> {
  const r = await withMonitor(target, (c) => c.getOutcomes({ model }, { timeoutMs: 5000 }));
  if (out.json) return printJson(messageJson(GetOutcomesResponseSchema, r));
  if (r.versions.length === 0) console.log(`no outcomes of ${model} yet (ReportOutcome joins them to decisions)`);
  for (const v of r.versions) printVersion(v);
}

function printVersion(v: VersionOutcomes): void {
  console.log(
    `${v.model} v${v.modelVersion}: ${v.windowOutcomes} outcomes in the window; AUC ${opt(v.rollingAuc)} (card ${opt(v.cardAuc)}); ` +
      `calibration error ${opt(v.calibrationError)} (card ${opt(v.cardCalibrationError)})`,
  );
  for (const t of v.tiers)
    console.log(
      `  ${(Decision[t.tier] ?? "?").toLowerCase().padEnd(8)} ${String(t.outcomes).padStart(6)} outcomes  realised ${pct(t.realisedRate).padStart(7)}` +
        `  predicted ${pct(t.predictedRate).padStart(7)} ± ${pct(t.band)}  ${(OutcomeBandState[t.state] ?? "?").toLowerCase()}` +
        `  (all time: ${t.totalOutcomes}, ${t.totalOutcomes ? pct(Number(t.totalDefaults) / Number(t.totalOutcomes)) : "-"} defaulted)`,
    );
}

/** `meshctl cost`: CPU-seconds per 1,000 decisions per service, cost per 1,000 by version and route, next to AUC. */
export async function cost(target: MeshTarget, out: Output): Promise<void> {
  const r = await withMonitor(target, (c) => c.getCost({}, { timeoutMs: 5000 }));
  if (out.json) return printJson(messageJson(GetCostResponseSchema, r));
  printCost(r);
}

function printCost(r: GetCostResponse): void {
  console.log(
    `over ${r.periodSeconds.toFixed(0)} s, ${r.decisions} decisions; prices ${r.priceCoreHour} per core-hour, ${r.priceGpuHour} per GPU-hour`,
  );
  for (const s of r.services)
    console.log(
      `  ${s.service.padEnd(13)} ×${s.instances}  ${s.cpuSecondsPer1000.toFixed(3)} CPU-s per 1,000 decisions`,
    );
  for (const v of r.versions) {
    const route = v.route === undefined ? "all routes" : (Route[v.route] ?? "?").toLowerCase();
    console.log(
      `  ${v.model} v${v.modelVersion} ${route.padEnd(10)} ${String(v.decisions).padStart(8)} decisions  ` +
        `${v.cpuSecondsPer1000.toFixed(3)} CPU-s${v.gpuSeconds > 0 ? ` + ${v.gpuSecondsPer1000.toFixed(3)} GPU-s` : ""}` +
        ` = ${v.costPer1000.toFixed(6)} per 1,000  AUC ${opt(v.cardAuc)} (card) ${opt(v.rollingAuc)} (rolling)`,
    );
  }
  if (r.unreachable.length) console.log(`unreachable: ${r.unreachable.join(", ")}`);
}
