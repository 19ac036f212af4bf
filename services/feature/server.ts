import { createClient } from "@connectrpc/connect";
import type { Logger } from "pino";
import { FeatureService } from "../../gen/scoremesh/feature/v1/feature_pb.js";
import type { RowDecision } from "../../gen/scoremesh/decision/v1/decision_pb.js";
import { RouterService } from "../../gen/scoremesh/router/v1/router_pb.js";
import { BatchMetrics, HopBatcher } from "../lib/batching/index.js";
import { join } from "node:path";
import { specHash, ModelRepository, specSkew } from "../lib/model/index.js";
import { DependencyWatch, createGrpcTransport } from "../lib/rpc/index.js";
import { ServiceHost, ServiceMetrics } from "../lib/service/index.js";
import type { FeatureConfig } from "./config.js";
import { EntityStore } from "./entity-store.js";
import { featureRoutes, type FeatureRowInit, type LoadedSpec } from "./routes.js";

/**
 * The feature service: loads every model family's feature spec once and builds feature vectors with the same
 * code the training kit uses. Families whose spec reads entity features get an EntityStore: the newest entity
 * snapshot at start, swapped for a newer one when it appears (polled). SERVING while the router is; a family
 * without a usable snapshot is still served, its entity features imputed (and logged).
 */
export async function startFeature(config: FeatureConfig, log: Logger): Promise<ServiceHost> {
  const metrics = new ServiceMetrics("feature", config.metricsAddress);
  const repo = new ModelRepository(config.modelRepository);
  const specs = new Map<string, LoadedSpec>();
  const stores: EntityStore[] = [];
  const versionHealth = new Map<string, boolean>();
  for (const model of repo.models()) {
    const spec = repo.spec(model);
    const hash = specHash(spec);
    let entities: EntityStore | undefined;
    if (spec.features.some((f) => f.source.kind === "entity")) {
      const dir = config.entitySnapshotDir
        ? join(config.entitySnapshotDir, model)
        : join(config.modelRepository, model, "entities");
      entities = new EntityStore({ dir, spec, log, maxBytes: config.entityMaxBytes });
      await entities.load();
      stores.push(entities.poll(config.entityPollMs));
    }
    specs.set(model, { spec, hash, ...(entities ? { entities } : {}) });
    log.info({ model, featureSpecHash: hash, features: spec.features.length }, "feature spec loaded");
    for (const version of repo.versions(model)) {
      const skew = specSkew(repo.card(model, version), hash);
      versionHealth.set(`model:${model}/${version}`, !skew);
      if (skew)
        log.error({ model, version, cardSpecHash: repo.card(model, version).feature_spec_hash, specInUse: hash }, skew);
    }
  }
  const host = new ServiceHost({
    name: "feature",
    address: config.address,
    credentials: config.tls.server(),
    healthAddress: config.healthAddress,
    metrics,
    log,
    drainTimeoutMs: config.drainTimeoutMs,
  });
  // Health reports the skew guard per version: "model:<model>/<version>" is NOT_SERVING for a version trained with
  // another spec (the vectors built here must never reach it).
  for (const [part, serving] of versionHealth) host.setPartStatus(part, serving);
  for (const s of stores) host.onClose(() => s.close());
  if (stores.length > 0 && config.entityFreshnessLogMs > 0) {
    const timer = setInterval(() => {
      for (const s of stores) log.info(s.freshness() ?? { model: s.model, entities: 0 }, "entity snapshot freshness");
    }, config.entityFreshnessLogMs).unref();
    host.onClose(() => clearInterval(timer));
  }
  const transport = createGrpcTransport({ address: config.routerAddr, credentials: config.tls.channel() });
  host.onClose(() => transport.close());
  const router = createClient(RouterService, transport);
  const hop = new BatchMetrics(metrics.registry).batcher("scoremesh.router.v1.RouterService/Route");
  const batcher = config.batching
    ? new HopBatcher<FeatureRowInit, RowDecision>(
        ({ key, rows, timeoutMs, signal }) =>
          router
            .route({ model: key, featureSpecHash: specs.get(key)!.hash, rows }, { timeoutMs, signal })
            .then((r) => r.decisions),
        {
          name: "scoremesh.router.v1.RouterService/Route",
          windowMs: config.batchWindowUs / 1000,
          maxRows: config.batchMaxRows,
          maxInFlight: config.batchMaxInFlight,
          onBatch: hop.onBatch,
        },
      )
    : undefined;
  if (batcher) {
    hop.watch(() => batcher.stats());
    host.onClose(batcher.logStats(log));
    host.onClose(() => batcher.close());
  }
  host.add(
    FeatureService,
    featureRoutes({ specs, router, ...(batcher ? { batcher } : {}), defaultTimeoutMs: config.defaultTimeoutMs }),
  );
  await host.listen();
  const deps = new DependencyWatch([config.routerAddr], config.tls.channel(), (any) =>
    host.setServing(any, any ? "router is serving" + entityLine(stores) : "router is not serving"),
  ).start();
  host.onClose(() => deps.close());
  return host;
}

/** "; entity snapshots: credit-default snapshot-….jsonl (30000 entities, 3600 s old)" for the health log line. */
function entityLine(stores: readonly EntityStore[]): string {
  if (stores.length === 0) return "";
  const parts = stores.map((s) => {
    const f = s.freshness();
    return f
      ? `${f.model} ${f.file} (${f.entities} entities, ${f.age_s} s old)`
      : `${s.model} none (entity features imputed)`;
  });
  return "; entity snapshots: " + parts.join(", ");
}
