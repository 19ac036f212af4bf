import { createClient } from "@connectrpc/connect";
import type { Logger } from "pino";
import { FeatureService } from "../../gen/scoremesh/feature/v1/feature_pb.js";
import { RouterService } from "../../gen/scoremesh/router/v1/router_pb.js";
import { specHash } from "../lib/feature-spec.js";
import { ModelRepository } from "../lib/model-repository.js";
import { specSkew } from "../lib/skew-guard.js";
import { DependencyWatch } from "../lib/rpc/health-client.js";
import { createGrpcTransport } from "../lib/rpc/grpc-transport.js";
import { ServiceHost } from "../lib/service-host.js";
import type { FeatureConfig } from "./config.js";
import { featureRoutes, type LoadedSpec } from "./routes.js";

/**
 * The feature service: loads every model family's feature spec once and builds feature vectors with the same
 * code the training kit uses. SERVING while the router is.
 */
export async function startFeature(config: FeatureConfig, log: Logger): Promise<ServiceHost> {
  const repo = new ModelRepository(config.modelRepository);
  const specs = new Map<string, LoadedSpec>();
  for (const model of repo.models()) {
    const spec = repo.spec(model);
    const hash = specHash(spec);
    specs.set(model, { spec, hash });
    log.info({ model, featureSpecHash: hash, features: spec.features.length }, "feature spec loaded");
    for (const version of repo.versions(model)) {
      const skew = specSkew(repo.card(model, version), hash);
      if (skew) log.error({ model, version, cardSpecHash: repo.card(model, version).feature_spec_hash, specInUse: hash }, skew);
    }
  }
  const host = new ServiceHost({ name: "feature", address: config.address, log, drainTimeoutMs: config.drainTimeoutMs });
  const transport = createGrpcTransport({ address: config.routerAddr });
  host.onClose(() => transport.close());
  host.add(
    FeatureService,
    featureRoutes({ specs, router: createClient(RouterService, transport), defaultTimeoutMs: config.defaultTimeoutMs }),
  );
  await host.listen();
  const deps = new DependencyWatch([config.routerAddr], (any) =>
    host.setServing(any, any ? "router is serving" : "router is not serving"),
  ).start();
  host.onClose(() => deps.close());
  return host;
}
