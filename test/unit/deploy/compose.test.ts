import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse, parseDocument } from "yaml";
import {
  composeFile,
  HEALTHCHECK_SCRIPT,
  prometheusConfig,
  PROMETHEUS_RULES,
  STOP_GRACE_S,
  type ComposeService,
} from "../../../deploy/compose/compose-spec.js";
import { prepareCompose } from "../../../deploy/compose/prepare.js";
import { SCALABLE } from "../../../deploy/compose/scale-override.js";
import { COMPOSE_DIR, renderCompose } from "../../../deploy/compose/render.js";
import { MESH } from "../../../deploy/k8s/mesh-spec.js";
import { podTemplateOf } from "../../../deploy/k8s/workloads.js";
import { PROJECT_ROOT } from "../../../deploy/local/mesh.js";
import { EnvReader } from "../../../services/lib/service/index.js";
import { READ_CONFIG } from "../../support/service-configs.js";

test("the committed compose files are what deploy/compose/render.ts renders now (npm run compose:render)", () => {
  for (const { path, text } of renderCompose()) assert.equal(readFileSync(join(COMPOSE_DIR, path), "utf8"), text, path);
  const parsed = parse(readFileSync(join(COMPOSE_DIR, "compose.yaml"), "utf8"), { version: "1.1" }) as {
    services: Record<string, ComposeService>;
  };
  assert.equal(parsed.services["validator"]!.environment!["VALIDATOR_PUBLIC_TLS"], "on", "a string, not a boolean");
});

/**
 * Where each path a service mounts lies on this machine: the host file compose:prepare wrote, or for a named volume
 * (the audit spools) a folder of the test's own.
 */
function mountsOf(svc: ComposeService, dir: string): Map<string, string> {
  const named = (host: string) => !host.startsWith(".");
  const mounts = new Map<string, string>();
  for (const [host, inside] of svc.volumes!.map((v) => v.split(":") as [string, string])) {
    if (!named(host)) assert.ok(existsSync(join(dir, host)), `${host} was not prepared`);
    else mkdirSync(join(dir, "volumes", host), { recursive: true });
    mounts.set(inside, named(host) ? join(dir, "volumes", host) : join(dir, host));
  }
  return mounts;
}

test("with the files compose:prepare writes, each service starts from its compose environment and mounts", () => {
  const dir = mkdtempSync(join(tmpdir(), "compose-"));
  try {
    prepareCompose(dir);
    const { services } = composeFile();
    for (const spec of MESH) {
      const svc = services[spec.name]!;
      // Inside the container, a mounted path is the host file compose:prepare wrote.
      const mounts = mountsOf(svc, dir);
      const env = Object.fromEntries(
        Object.entries(svc.environment!).map(([k, v]) => [k, mounts.get(v) ?? (v === "/app/models" ? "models" : v)]),
      );
      const read = new Set<string>();
      const recording = new Proxy(env, { get: (target, name: string) => (read.add(name), target[name]) });
      let config: { audit?: unknown; rollout?: unknown } = {};
      assert.doesNotThrow(
        () => (config = READ_CONFIG[spec.name](new EnvReader(recording)) as typeof config),
        spec.name,
      );
      // Routers and validators start with their audit trail on (its spool and signing key read and checked).
      if (spec.audit) assert.ok(config.audit, `${spec.name}: no audit trail`);
      // The monitor runs the rollout controller (its operator key read and parsed), as under npm start.
      if (spec.name === "monitor") assert.ok(config.rollout, "monitor: no rollout controller");
      // LOG_LEVEL is the logger's, OTEL_* the OpenTelemetry SDK's: read at start, not by readConfig.
      const unread = Object.keys(env).filter((n) => !read.has(n) && n !== "LOG_LEVEL" && !n.startsWith("OTEL_"));
      assert.deepEqual(unread, [], `${spec.name}: variables its config never reads`);
      assert.deepEqual(svc.command, [`dist/services/${spec.name}/main.js`]);
    }
    const conf = join(dir, "state", "mounted", "nats.conf");
    const check = spawnSync("nats-server", ["-c", conf, "-t"], { encoding: "utf8" });
    assert.equal(check.status, 0, `nats-server -t: ${check.stderr}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("every file compose mounts from the repository exists (Prometheus, Grafana's provisioning and dashboard)", () => {
  for (const [name, svc] of Object.entries(composeFile().services))
    for (const v of svc.volumes ?? []) {
      const host = v.split(":")[0]!;
      if (host.startsWith("./state/") || !host.startsWith(".")) continue; // prepared, or a named volume
      assert.ok(existsSync(join(COMPOSE_DIR, host)), `${name}: ${host} does not exist`);
    }
});

test("Prometheus scrapes every service on the port its metrics listener opens", () => {
  const { scrape_configs } = prometheusConfig() as {
    scrape_configs: { job_name: string; dns_sd_configs: { names: string[]; port: number }[] }[];
  };
  const { services } = composeFile();
  assert.deepEqual(scrape_configs.map((s) => s.job_name).sort(), MESH.map((s) => s.name).sort());
  for (const job of scrape_configs) {
    const env = services[job.job_name]!.environment!;
    const listener =
      env[`${MESH.find((s) => s.name === job.job_name)!.prefix}_METRICS_ADDR`] ?? env["MONITOR_HTTP_ADDR"];
    assert.equal(job.dns_sd_configs[0]!.port, Number(listener!.split(":")[1]), job.job_name);
    assert.deepEqual(job.dns_sd_configs[0]!.names, [job.job_name]);
  }
});

test("the monitor measures the cost per 1,000 decisions from every service's metrics page, as Prometheus scrapes it", () => {
  const { scrape_configs } = prometheusConfig() as {
    scrape_configs: { job_name: string; dns_sd_configs: { port: number }[] }[];
  };
  const targets = composeFile().services["monitor"]!.environment!["MONITOR_COST_TARGETS"]!.split(",");
  assert.deepEqual(
    targets,
    scrape_configs.map((j) => `http://${j.job_name}:${j.dns_sd_configs[0]!.port}/metrics`),
  );
  assert.deepEqual(targets.map((t) => new URL(t).hostname).sort(), MESH.map((s) => s.name).sort());
});

test("Prometheus loads the alerting rules of deploy/prometheus, mounted where its rule_files says", () => {
  const { rule_files } = prometheusConfig() as { rule_files: string[] };
  assert.deepEqual(rule_files, [PROMETHEUS_RULES]);
  const mount = composeFile().services["prometheus"]!.volumes!.find((v) => v.split(":")[1] === PROMETHEUS_RULES);
  assert.equal(mount?.split(":")[0], "../prometheus/alerts.yaml");
  assert.ok(existsSync(join(COMPOSE_DIR, "../prometheus/alerts.yaml")));
});

test("compose.scale.yaml drops the fixed host ports of exactly the services that may scale, and nothing else", () => {
  const text = readFileSync(join(COMPOSE_DIR, "compose.scale.yaml"), "utf8");
  const doc = parseDocument(text, { version: "1.1" });
  const { services } = doc.toJS() as { services: Record<string, Record<string, unknown>> };
  // Not routers or validators (one spool volume each), nor the monitor (one): those keep a fixed port.
  assert.deepEqual(Object.keys(services).sort(), ["feature", "model-worker", "monitor"]);
  // Scaled, a name answers for any replica: the cost scrape is off ("" reads as no targets).
  assert.deepEqual(services["monitor"], { environment: { MONITOR_COST_TARGETS: "" } });
  assert.deepEqual(new EnvReader({ MONITOR_COST_TARGETS: "" }).list("MONITOR_COST_TARGETS"), []);
  assert.deepEqual([...SCALABLE].sort(), ["feature", "model-worker"]);
  for (const svc of SCALABLE) {
    assert.deepEqual(services[svc], { ports: [] }, svc);
    // Compose appends sequences of an override to the base file's; only !reset removes the base's ports.
    assert.equal((doc.getIn(["services", svc, "ports"], true) as { tag?: string }).tag, "!reset", svc);
    assert.ok(composeFile().services[svc]!.ports!.length > 0, `${svc} publishes nothing to reset`);
    // Clients find every replica through Docker's DNS.
    const client = svc === "feature" ? "VALIDATOR_FEATURE_ADDR" : "ROUTER_WORKER_ADDRS";
    const env = composeFile().services[svc === "feature" ? "validator" : "router"]!.environment!;
    assert.match(env[client]!, new RegExp(`^dns:///${svc}:`), client);
  }
});

test("services get the pods' grace period after SIGTERM, longer than their drain (Docker's default is 10 s)", () => {
  const { services } = composeFile();
  for (const spec of MESH) {
    const grace = services[spec.name]!.stop_grace_period;
    const pod = podTemplateOf(spec, "scoremesh:test").spec!;
    assert.equal(grace, `${pod.terminationGracePeriodSeconds}s`, spec.name);
    const env = services[spec.name]!.environment!;
    const drainMs = Number(env[`${spec.prefix}_DRAIN_TIMEOUT_MS`] ?? 10_000);
    assert.ok(STOP_GRACE_S * 1000 > drainMs, `${spec.name}: drains ${drainMs} ms`);
  }
});

test("each service's healthcheck runs the built script with the image's node against its own health port", () => {
  const dockerfile = readFileSync(join(PROJECT_ROOT, "deploy", "image", "Dockerfile"), "utf8");
  const node = (JSON.parse(/^ENTRYPOINT (.*)$/m.exec(dockerfile)![1]!) as string[])[0]!;
  assert.ok(existsSync(join(PROJECT_ROOT, HEALTHCHECK_SCRIPT)), `${HEALTHCHECK_SCRIPT} is not built`);
  const { services } = composeFile();
  for (const spec of MESH) {
    const svc = services[spec.name]!;
    const port = svc.environment![`${spec.prefix}_HEALTH_ADDR`]!.split(":")[1];
    assert.equal(Number(port), spec.health, spec.name);
    assert.deepEqual(svc.healthcheck!.test, ["CMD", node, HEALTHCHECK_SCRIPT, `127.0.0.1:${port}`], spec.name);
  }
});
