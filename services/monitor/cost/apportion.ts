import type { MessageInitShape } from "@bufbuild/protobuf";
import type { GetCostResponseSchema, VersionCostSchema } from "../../../gen/scoremesh/monitor/v1/monitor_pb.js";
import { Route } from "../../../gen/scoremesh/scoring/v1/scoring_pb.js";

/** What the mesh used over a period: CPU per service, execution time per version, decisions per version and route. */
export interface Usage {
  periodSeconds: number;
  /** CPU-seconds and instance count per service. */
  cpu: Map<string, { seconds: number; instances: number }>;
  /** Worker execution seconds per (model, version, provider). */
  execution: { model: string; version: string; provider: string; seconds: number }[];
  /** Decisions per (model, version, route), route as the metric's label ("primary", "canary", ...). */
  decisions: { model: string; version: string; route: string; count: number }[];
}

export interface Prices {
  coreHour: number;
  gpuHour: number;
}

/** Execution providers that run on an accelerator: their time is GPU time, not CPU time. */
const GPU_PROVIDERS = new Set(["cuda", "tensorrt"]);
type VersionInit = MessageInitShape<typeof VersionCostSchema>;
const keyOf = (model: string, version: string) => `${model}\u0000${version}`;

/** Worker CPU execution seconds per version (scaled down to the workers' CPU when it says more), and GPU seconds. */
function executionShares(u: Usage) {
  const cpu = new Map<string, number>();
  const gpu = new Map<string, number>();
  for (const e of u.execution) {
    const m = GPU_PROVIDERS.has(e.provider) ? gpu : cpu;
    m.set(keyOf(e.model, e.version), (m.get(keyOf(e.model, e.version)) ?? 0) + e.seconds);
  }
  const workerCpu = u.cpu.get("model-worker")?.seconds ?? 0;
  const sum = [...cpu.values()].reduce((a, b) => a + b, 0);
  if (sum > workerCpu) for (const [k, v] of cpu) cpu.set(k, sum > 0 ? (v * workerCpu) / sum : 0);
  return { cpu, gpu };
}

/**
 * Cost per 1,000 decisions, per service and per version and route: a version's worker execution time goes to its
 * decisions (split over its routes by their decisions), and everything else (the other services, the worker's
 * time outside executions, versions without decisions such as shadows) is shared equally per decision.
 */
export function apportion(u: Usage, prices: Prices): MessageInitShape<typeof GetCostResponseSchema> {
  const total = u.decisions.reduce((a, d) => a + d.count, 0);
  const perVersion = new Map<string, number>();
  for (const d of u.decisions)
    perVersion.set(keyOf(d.model, d.version), (perVersion.get(keyOf(d.model, d.version)) ?? 0) + d.count);
  const exec = executionShares(u);
  const cpuTotal = [...u.cpu.values()].reduce((a, c) => a + c.seconds, 0);
  const attributed = [...exec.cpu].reduce((a, [k, v]) => a + (perVersion.get(k) ? v : 0), 0);
  const rest = Math.max(0, cpuTotal - attributed);
  const rows = u.decisions.map((d): VersionInit => {
    const k = keyOf(d.model, d.version);
    const share = d.count / (perVersion.get(k) || 1);
    const cpu = (exec.cpu.get(k) ?? 0) * share + (total ? (rest * d.count) / total : 0);
    const gpu = (exec.gpu.get(k) ?? 0) * share;
    return costRow(d.model, d.version, d.count, cpu, gpu, prices, routeOf(d.route));
  });
  return {
    periodSeconds: u.periodSeconds,
    decisions: BigInt(total),
    services: [...u.cpu]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([service, c]) => ({
        service,
        instances: c.instances,
        cpuSeconds: c.seconds,
        cpuSecondsPer1000: total ? (c.seconds * 1000) / total : 0,
      })),
    versions: [...byVersion(rows, prices), ...rows],
    priceCoreHour: prices.coreHour,
    priceGpuHour: prices.gpuHour,
  };
}

function costRow(
  model: string,
  version: string,
  n: number,
  cpu: number,
  gpu: number,
  p: Prices,
  route?: Route,
): VersionInit {
  const per = (x: number) => (n ? (x * 1000) / n : 0);
  return {
    model,
    modelVersion: version,
    route,
    decisions: BigInt(n),
    cpuSeconds: cpu,
    gpuSeconds: gpu,
    cpuSecondsPer1000: per(cpu),
    gpuSecondsPer1000: per(gpu),
    costPer1000: per((cpu / 3600) * p.coreHour + (gpu / 3600) * p.gpuHour),
  };
}

/** The per-route rows summed per version (route unset), sorted by model and version. */
function byVersion(rows: VersionInit[], p: Prices): VersionInit[] {
  const sums = new Map<string, { model: string; version: string; n: number; cpu: number; gpu: number }>();
  for (const r of rows) {
    const k = keyOf(r.model!, r.modelVersion!);
    const s = sums.get(k) ?? { model: r.model!, version: r.modelVersion!, n: 0, cpu: 0, gpu: 0 };
    s.n += Number(r.decisions);
    s.cpu += r.cpuSeconds!;
    s.gpu += r.gpuSeconds!;
    sums.set(k, s);
  }
  return [...sums.values()]
    .sort((a, b) => a.model.localeCompare(b.model) || a.version.localeCompare(b.version, "en", { numeric: true }))
    .map((s) => costRow(s.model, s.version, s.n, s.cpu, s.gpu, p));
}

/** The Route of a metric's route label ("primary" → Route.PRIMARY); UNSPECIFIED when unknown. */
function routeOf(label: string): Route {
  const v = (Route as unknown as Record<string, number>)[label.toUpperCase()];
  return typeof v === "number" ? v : Route.UNSPECIFIED;
}
