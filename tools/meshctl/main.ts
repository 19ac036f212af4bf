import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { fromJson, toJson, type JsonValue } from "@bufbuild/protobuf";
import { ConnectError, createClient } from "@connectrpc/connect";
import { connect } from "nats";
import { GRPCInferenceService } from "../../gen/inference/grpc_predict_v2_pb.js";
import { MonitorService } from "../../gen/scoremesh/monitor/v1/monitor_pb.js";
import { ServingPolicySchema } from "../../gen/scoremesh/policy/v1/policy_pb.js";
import { Route, ScoreRequestSchema, ScoreResponseSchema, ScoringService } from "../../gen/scoremesh/scoring/v1/scoring_pb.js";
import { EnvReader } from "../../services/lib/service/index.js";
import { ModelRepository } from "../../services/lib/model/index.js";
import { PolicyStore } from "../../services/lib/nats/index.js";
import { HealthProbe, createGrpcTransport, fieldViolations } from "../../services/lib/rpc/index.js";

const USAGE = `meshctl: operate a scoremesh mesh

usage: npm run meshctl -- <command> [options]

commands:
  status                          health of every service, serving policies, loaded versions, decision counts
  policy <model>                  the serving policy of a model, as JSON
  set-champion <model> <version>  make <version> the champion of <model> (routers switch once workers have it ready)
  score [--file F | --json J]     score one request (ScoreRequest JSON, e.g. deploy/local/example-request.json)
                                  through the public gRPC API and print the ScoreResponse as JSON
  reviews [--limit N] [--model M] the monitor's review queue (decisions REVIEW), newest first; N defaults to 20

The mesh's addresses come from the same variables the services read (defaults: npm start's ports):
  VALIDATOR_GRPC_ADDR 127.0.0.1:50051  FEATURE_ADDR 127.0.0.1:50061  ROUTER_ADDR 127.0.0.1:50071
  WORKER_ADDR 127.0.0.1:50081  MONITOR_ADDR 127.0.0.1:50091  NATS_URL nats://127.0.0.1:4222  MODEL_REPOSITORY models`;

function addresses(env = new EnvReader()) {
  return {
    validator: env.address("VALIDATOR_GRPC_ADDR", "127.0.0.1:50051"),
    feature: env.address("FEATURE_ADDR", "127.0.0.1:50061"),
    router: env.address("ROUTER_ADDR", "127.0.0.1:50071"),
    worker: env.address("WORKER_ADDR", "127.0.0.1:50081"),
    monitor: env.address("MONITOR_ADDR", "127.0.0.1:50091"),
    nats: env.string("NATS_URL", "nats://127.0.0.1:4222").split(","),
    repository: env.string("MODEL_REPOSITORY", "models"),
  };
}

async function withPolicies<T>(servers: string[], fn: (p: PolicyStore) => Promise<T>): Promise<T> {
  const nc = await connect({ servers, timeout: 3000, name: "meshctl" }).catch((err: Error) => {
    throw new Error(`cannot reach NATS at ${servers.join(",")}: ${err.message}`);
  });
  try {
    return await fn(await PolicyStore.open(nc));
  } finally {
    await nc.close();
  }
}

async function status(): Promise<void> {
  const a = addresses();
  console.log("services (grpc.health.v1):");
  for (const [name, addr] of [["validator", a.validator], ["feature", a.feature], ["router", a.router], ["model-worker", a.worker], ["monitor", a.monitor]] as const) {
    const probe = new HealthProbe(addr);
    console.log(`  ${name.padEnd(13)} ${addr.padEnd(18)} ${await probe.check()}`);
    probe.close();
  }
  console.log("\nserving policies (NATS KV scoremesh_policy):");
  await withPolicies(a.nats, async (store) => {
    const models = await store.models();
    if (models.length === 0) console.log("  (none yet)");
    for (const m of models) {
      const p = await store.get(m);
      if (p) console.log(`  ${m.padEnd(16)} champion ${p.championVersion.padEnd(4)} set ${p.updatedAt ? new Date(Number(p.updatedAt.seconds) * 1000).toISOString() : "?"} by ${p.updatedBy}`);
    }
  }).catch((err: Error) => console.log(`  ${err.message}`));
  const wt = createGrpcTransport({ address: a.worker });
  const worker = createClient(GRPCInferenceService, wt);
  console.log("\nmodel worker:");
  try {
    const meta = await worker.serverMetadata({}, { timeoutMs: 2000 });
    console.log(`  ${meta.name} ${meta.version}`);
    for (const m of new ModelRepository(a.repository).models()) {
      const md = await worker.modelMetadata({ name: m }, { timeoutMs: 2000 }).catch(() => undefined);
      console.log(`  ${m.padEnd(16)} loaded versions: ${md ? md.versions.join(", ") : "(none)"}`);
    }
  } catch (err) {
    console.log(`  unreachable: ${ConnectError.from(err).rawMessage}`);
  } finally {
    wt.close();
  }
  const mt = createGrpcTransport({ address: a.monitor });
  try {
    const s = await createClient(MonitorService, mt).getStats({}, { timeoutMs: 2000 });
    console.log(`\ndecisions recorded by the monitor: ${s.decisionsTotal} (router latency p50 ${s.latencyP50Ms.toFixed(2)} ms, p99 ${s.latencyP99Ms.toFixed(2)} ms)`);
    for (const v of s.versions) {
      console.log(`  ${v.model} v${v.modelVersion}: ${v.decisions} decisions (approve ${v.approve}, review ${v.review}, decline ${v.decline}, degraded ${v.degraded}), mean score ${v.meanScore.toFixed(4)}`);
    }
  } catch (err) {
    console.log(`\nmonitor unreachable: ${ConnectError.from(err).rawMessage}`);
  } finally {
    mt.close();
  }
}

async function setChampion(model: string, version: string): Promise<void> {
  const a = addresses();
  const repo = new ModelRepository(a.repository);
  if (!repo.models().includes(model)) throw new Error(`unknown model ${model} (repository ${a.repository} has: ${repo.models().join(", ")})`);
  const versions = repo.versions(model);
  if (!versions.includes(version)) throw new Error(`${model} has no version ${version} (versions: ${versions.join(", ")})`);
  const policy = await withPolicies(a.nats, async (store) => {
    const current = await store.get(model);
    return store.put({ ...(current ?? { model }), model, championVersion: version, updatedBy: `meshctl@${process.env["USER"] ?? "unknown"}` });
  });
  console.log(JSON.stringify(toJson(ServingPolicySchema, policy)));
  console.log(`champion of ${model} is now version ${version}; routers switch as soon as the workers report it ready.`);
}

async function score(file?: string, json?: string): Promise<void> {
  const a = addresses();
  const text = json ?? (file ? readFileSync(file, "utf8") : undefined);
  if (!text) throw new Error("score needs --file FILE or --json '{...}'");
  const req = fromJson(ScoreRequestSchema, JSON.parse(text) as JsonValue);
  const t = createGrpcTransport({ address: a.validator });
  try {
    const res = await createClient(ScoringService, t).score(req, { timeoutMs: 5000 });
    console.log(JSON.stringify(toJson(ScoreResponseSchema, res), null, 2));
  } catch (err) {
    const ce = ConnectError.from(err);
    const violations = fieldViolations(ce);
    console.error(`error: ${ce.message}`);
    for (const v of violations) console.error(`  ${v.field}: ${v.description} [${v.reason}]`);
    process.exitCode = 1;
  } finally {
    t.close();
  }
}

async function reviews(limit: number, model?: string): Promise<void> {
  const t = createGrpcTransport({ address: addresses().monitor });
  try {
    const r = await createClient(MonitorService, t).listReviews({ pageSize: limit, model }, { timeoutMs: 5000 });
    console.log(`review cases: ${r.cases.length} shown, ${r.queued} held by the monitor, ${r.total} review decisions since it started`);
    for (const c of r.cases) {
      const at = c.decidedAt ? new Date(Number(c.decidedAt.seconds) * 1000 + Math.floor(c.decidedAt.nanos / 1e6)).toISOString() : "?";
      const route = (Route[c.route] ?? String(c.route)).toLowerCase();
      const reasons = c.reasons.slice(0, 3).map((x) => x.code).join(",") || "-";
      console.log(`  ${at}  ${c.requestId}  ${c.model} v${c.modelVersion}  score ${c.score.toFixed(4)}  ${route}${c.degraded ? " degraded" : ""}  reasons ${reasons}  trace ${c.traceId}`);
    }
  } catch (err) {
    throw new Error(`monitor at ${t.address}: ${ConnectError.from(err).rawMessage}`, { cause: err });
  } finally {
    t.close();
  }
}

async function main(): Promise<void> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: { file: { type: "string" }, json: { type: "string" }, limit: { type: "string" }, model: { type: "string" }, help: { type: "boolean", short: "h" } },
  });
  const [cmd, ...args] = positionals;
  switch (values.help ? "help" : cmd) {
    case "status":
      return status();
    case "policy": {
      const model = args[0];
      if (!model) throw new Error("usage: meshctl policy <model>");
      const p = await withPolicies(addresses().nats, (s) => s.get(model));
      if (!p) throw new Error(`no serving policy for ${model}`);
      console.log(JSON.stringify(toJson(ServingPolicySchema, p), null, 2));
      return;
    }
    case "set-champion": {
      const [model, version] = args;
      if (!model || !version) throw new Error("usage: meshctl set-champion <model> <version>");
      return setChampion(model, version);
    }
    case "score":
      return score(values.file, values.json);
    case "reviews": {
      const limit = Number(values.limit ?? "20");
      if (!Number.isInteger(limit) || limit < 1 || limit > 1_000_000) throw new Error(`--limit must be an integer in [1, 1000000], got ${values.limit}`);
      return reviews(limit, values.model);
    }
    default:
      console.log(USAGE);
      if (cmd && cmd !== "help") process.exitCode = 2;
  }
}

main().catch((err: Error) => {
  console.error(`meshctl: ${err.message}`);
  process.exitCode = 1;
});
