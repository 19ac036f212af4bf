import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { Registry } from "prom-client";
import { parseAllDocuments } from "yaml";
import { checkCertificate, checkIssuer } from "../../../deploy/k8s/certificates.js";
import { checkScaledObject } from "../../../deploy/k8s/keda.js";
import { MESH } from "../../../deploy/k8s/mesh-spec.js";
import { KEDA_OVERLAYS, objectsOf, RENDERED, renderYaml, renderedPath } from "../../../deploy/k8s/render.js";
import { BatchMetrics } from "../../../services/lib/batching/index.js";

type Obj = { apiVersion: string; kind: string; metadata: { name: string }; spec: Record<string, unknown> };

const parsed = new Map<string, Obj[]>();

/** A rendered file parsed back (once): what kubectl would apply. */
function applied(file: string): Obj[] {
  if (!parsed.has(file)) parsed.set(file, parse(file));
  return structuredClone(parsed.get(file)!);
}

function parse(file: string): Obj[] {
  return parseAllDocuments(readFileSync(renderedPath(file as "base"), "utf8"), { version: "1.1" })
    .map((d) => d.toJS() as Obj)
    .filter(Boolean);
}

const clone = <T>(o: T): T => structuredClone(o);

test("every rendered file, cert-manager's included, is what render.ts renders now and validates", () => {
  for (const file of RENDERED) {
    assert.equal(readFileSync(renderedPath(file), "utf8"), renderYaml(file), file);
    for (const o of objectsOf(file)) assert.doesNotThrow(() => o.validate(), `${file} ${o.kind} ${o.metadata?.name}`);
  }
});

test("the keda overlays: the same objects as base and gpu but the workers' HPA, replaced by a ScaledObject on metrics the worker exports (and Prometheus let in to scrape them)", () => {
  const registry = new Registry();
  new BatchMetrics(registry);
  const names = registry.getMetricsAsArray().map((m) => m.name);
  const worker = MESH.find((s) => s.name === "model-worker")!;
  for (const [overlay, of] of Object.entries(KEDA_OVERLAYS)) {
    const isWorkerHpa = (o: Obj) => o.kind === "HorizontalPodAutoscaler" && o.metadata.name === "model-worker";
    const added = (o: Obj) => o.kind === "ScaledObject" || o.metadata.name === "model-worker-metrics";
    const scaled = applied(overlay).filter((o) => o.kind === "ScaledObject");
    const rest = applied(overlay).filter((o) => !added(o));
    const scrape = applied(overlay).find(
      (o) => o.kind === "NetworkPolicy" && o.metadata.name === "model-worker-metrics",
    );
    assert.ok(scrape, `${overlay}: Prometheus may scrape the workers' metrics port`);
    assert.match(JSON.stringify(scrape.spec), /"port":9464/);
    assert.deepEqual(
      rest,
      applied(of).filter((o) => !isWorkerHpa(o)),
      `${overlay}: ${of} less the workers' HPA`,
    );
    assert.ok(!rest.some(isWorkerHpa), `${overlay}: never an HPA and a ScaledObject on one Deployment`);
    assert.equal(scaled.length, 1, overlay);
    const so = scaled[0]!;
    assert.equal((so.spec["scaleTargetRef"] as { name: string }).name, "model-worker");
    assert.equal(so.spec["minReplicaCount"], worker.replicas.min);
    assert.equal(so.spec["maxReplicaCount"], worker.replicas.max);
    const queries = (so.spec["triggers"] as { type: string; metadata: { query?: string } }[])
      .filter((t) => t.type === "prometheus")
      .map((t) => t.metadata.query!);
    assert.equal(queries.length, 2);
    for (const q of queries) {
      const metric = /^sum\((\w+)\{/.exec(q)?.[1];
      assert.ok(metric && names.includes(metric), `${q}: ${metric} is not a metric the batchers export`);
      assert.match(q, /batcher="model-worker"/, "the worker's batcher label (services/model-worker/server.ts)");
    }
  }
});

test("the hand-written CRD checks catch what KEDA and cert-manager would refuse", () => {
  const so = objectsOf("keda")
    .find((o) => o.kind === "ScaledObject")!
    .toJSON() as Obj;
  assert.doesNotThrow(() => checkScaledObject(so.spec));
  const numeric = clone(so.spec) as { triggers: { metadata: Record<string, unknown> }[] };
  numeric.triggers[0]!.metadata["threshold"] = 256;
  assert.throws(() => checkScaledObject(numeric), /metadata\.threshold: KEDA takes strings/);
  const noServer = clone(so.spec) as { triggers: { metadata: Record<string, unknown> }[] };
  delete noServer.triggers[1]!.metadata["serverAddress"];
  assert.throws(() => checkScaledObject(noServer), /serverAddress/);
  assert.throws(
    () => checkScaledObject({ ...so.spec, minReplicaCount: 30 }),
    /minReplicaCount 30 > maxReplicaCount 20/,
  );
  assert.throws(() => checkScaledObject({ ...so.spec, triggers: [{ type: "kafka", metadata: {} }] }), /type one of/);

  const certs = objectsOf("cert-manager").map((o) => o.toJSON() as Obj);
  const leaf = certs.find((c) => c.metadata.name === "scoremesh-router")!;
  assert.throws(() => checkCertificate({ ...leaf.spec, usages: ["server auth", "client-auth"] }), /usages among/);
  assert.throws(
    () => checkCertificate({ ...leaf.spec, issuerRef: { name: "x", kind: "Secret" } }),
    /Issuer or ClusterIssuer/,
  );
  assert.throws(() => checkCertificate({ ...leaf.spec, duration: "90d" }), /hours/);
  assert.throws(() => checkIssuer({ selfSigned: {}, ca: { secretName: "x" } }), /exactly one/);
  assert.throws(() => checkIssuer({ ca: {} }), /ca\.secretName/);
});

test("cert-manager writes every TLS secret the workloads mount, with the SANs and usages mutual TLS needs", () => {
  const certs = applied("cert-manager").filter((o) => o.kind === "Certificate");
  const issuers = new Set(
    applied("cert-manager")
      .filter((o) => o.kind === "Issuer")
      .map((o) => o.metadata.name),
  );
  for (const c of certs) assert.ok(issuers.has((c.spec["issuerRef"] as { name: string }).name), c.metadata.name);
  const mounted = applied("base")
    .filter((o) => o.kind === "Deployment" || o.kind === "StatefulSet")
    .flatMap((d) => (d.spec["template"] as { spec: { volumes: { secret?: { secretName: string } }[] } }).spec.volumes)
    .map((v) => v.secret?.secretName)
    .filter((n): n is string => n?.startsWith("scoremesh-tls-") === true);
  assert.equal(mounted.length, MESH.length);
  for (const secret of mounted) {
    const svc = secret.replace("scoremesh-tls-", "");
    const written = certs.filter((c) => c.spec["secretName"] === secret);
    assert.equal(written.length, 1, `${secret}: written by one Certificate`);
    const spec = written[0]!.spec as { dnsNames: string[]; usages: string[] };
    for (const n of [svc, `${svc}-headless`]) assert.ok(spec.dnsNames.includes(n), `${secret}: SAN ${n}`);
    for (const u of ["server auth", "client auth"]) assert.ok(spec.usages.includes(u), `${secret}: ${u}`);
  }
});
