import { ConnectError, createClient } from "@connectrpc/connect";
import { GRPCInferenceService } from "../../gen/inference/grpc_predict_v2_pb.js";
import {
  GetStatsResponseSchema,
  MonitorService,
  type GetStatsResponse,
} from "../../gen/scoremesh/monitor/v1/monitor_pb.js";
import { ServingPolicySchema, type ServingPolicy } from "../../gen/scoremesh/policy/v1/policy_pb.js";
import { ModelRepository } from "../../services/lib/model/index.js";
import { HealthProbe, createGrpcTransport } from "../../services/lib/rpc/index.js";
import { CliError, messageJson, printJson, type Output } from "./output.js";
import { policyLine, withPolicies } from "./policy.js";
import type { MeshTarget } from "./target.js";

/** A part of the status that could not be read: its error instead of its value. */
type Part<T> = T | { error: string };

interface MeshStatus {
  services: { name: string; address: string; health: string }[];
  policies: Part<ServingPolicy[]>;
  worker: Part<{ name: string; version: string; models: { model: string; loadedVersions: string[] }[] }>;
  monitor: Part<GetStatsResponse>;
}

const failed = (p: Part<unknown>): p is { error: string } => typeof p === "object" && p !== null && "error" in p;

/** `meshctl status`: every service's health, the policies, the worker's versions, the monitor's counts. Exits 1 when any is down. */
export async function status(target: MeshTarget, out: Output): Promise<void> {
  const s = await readStatus(target);
  if (out.json) printJson(statusJson(s));
  else printStatus(s);
  const down = s.services.filter((x) => x.health !== "SERVING").map((x) => x.name);
  const unread = (["policies", "worker", "monitor"] as const).filter((k) => failed(s[k]));
  if (down.length || unread.length) {
    throw new CliError(
      [
        down.length ? `not SERVING: ${down.join(", ")}` : "",
        unread.length ? `could not read: ${unread.join(", ")}` : "",
      ]
        .filter(Boolean)
        .join("; "),
    );
  }
}

async function readStatus(target: MeshTarget): Promise<MeshStatus> {
  const services: MeshStatus["services"] = [];
  for (const [name, address] of [
    ["validator", target.validator()],
    ["feature", target.feature()],
    ["router", target.router()],
    ["model-worker", target.worker()],
    ["monitor", target.monitor()],
  ]) {
    const probe = new HealthProbe(address!, name === "validator" ? target.edgeCredentials() : target.credentials());
    services.push({ name: name!, address: address!, health: await probe.check() });
    probe.close();
  }
  const policies = await attempt(() =>
    withPolicies(target, async (store) =>
      (await Promise.all((await store.models()).map((m) => store.get(m)))).filter((p) => p !== undefined),
    ),
  );
  return {
    services,
    policies,
    worker: await attempt(() => workerStatus(target)),
    monitor: await attempt(() => monitorStats(target)),
  };
}

async function attempt<T>(fn: () => Promise<T>): Promise<Part<T>> {
  try {
    return await fn();
  } catch (err) {
    return { error: err instanceof ConnectError ? err.rawMessage : (err as Error).message };
  }
}

async function workerStatus(target: MeshTarget) {
  const t = createGrpcTransport({ address: target.worker(), credentials: target.credentials() });
  try {
    const worker = createClient(GRPCInferenceService, t);
    const meta = await worker.serverMetadata({}, { timeoutMs: 2000 });
    const models = [];
    for (const model of new ModelRepository(target.repository()).models()) {
      const md = await worker.modelMetadata({ name: model }, { timeoutMs: 2000 }).catch(() => undefined);
      models.push({ model, loadedVersions: md?.versions ?? [] });
    }
    return { name: meta.name, version: meta.version, models };
  } finally {
    t.close();
  }
}

async function monitorStats(target: MeshTarget): Promise<GetStatsResponse> {
  const t = createGrpcTransport({ address: target.monitor(), credentials: target.credentials() });
  try {
    return await createClient(MonitorService, t).getStats({}, { timeoutMs: 2000 });
  } finally {
    t.close();
  }
}

function statusJson(s: MeshStatus) {
  return {
    services: s.services,
    policies: failed(s.policies) ? s.policies : s.policies.map((p) => messageJson(ServingPolicySchema, p)),
    worker: s.worker,
    monitor: failed(s.monitor) ? s.monitor : messageJson(GetStatsResponseSchema, s.monitor),
  };
}

function printStatus(s: MeshStatus): void {
  console.log("services (grpc.health.v1):");
  for (const x of s.services) console.log(`  ${x.name.padEnd(13)} ${x.address.padEnd(18)} ${x.health}`);
  console.log("\nserving policies (NATS KV scoremesh_policy):");
  if (failed(s.policies)) console.log(`  ${s.policies.error}`);
  else if (s.policies.length === 0) console.log("  (none yet)");
  else for (const p of s.policies) console.log(`  ${p.model.padEnd(16)} ${policyLine(p)}`);
  console.log("\nmodel worker:");
  if (failed(s.worker)) console.log(`  unreachable: ${s.worker.error}`);
  else {
    console.log(`  ${s.worker.name} ${s.worker.version}`);
    for (const m of s.worker.models)
      console.log(`  ${m.model.padEnd(16)} loaded versions: ${m.loadedVersions.join(", ") || "(none)"}`);
  }
  if (failed(s.monitor)) return console.log(`\nmonitor unreachable: ${s.monitor.error}`);
  const m = s.monitor;
  console.log(
    `\ndecisions recorded by the monitor: ${m.decisionsTotal} (router latency p50 ${m.latencyP50Ms.toFixed(2)} ms, p99 ${m.latencyP99Ms.toFixed(2)} ms)`,
  );
  for (const v of m.versions) {
    console.log(
      `  ${v.model} v${v.modelVersion}: ${v.decisions} decisions (approve ${v.approve}, review ${v.review}, decline ${v.decline}, degraded ${v.degraded}), mean score ${v.meanScore.toFixed(4)}`,
    );
  }
}
