import type { Server } from "node:http";
import type { Server as HttpsServer } from "node:https";
import { Code, createClient } from "@connectrpc/connect";
import type { Logger } from "pino";
import { FeatureService } from "../../gen/scoremesh/feature/v1/feature_pb.js";
import type { RowDecision } from "../../gen/scoremesh/decision/v1/decision_pb.js";
import { ScoringService } from "../../gen/scoremesh/scoring/v1/scoring_pb.js";
import { BatchMetrics, HopBatcher } from "../lib/batching/index.js";
import { type FeatureSpec, ModelRepository } from "../lib/model/index.js";
import { DependencyWatch, MeshCredentials, createGrpcTransport } from "../lib/rpc/index.js";
import { ServiceHost, ServiceMetrics, systemClock } from "../lib/service/index.js";
import { grpcAdmission, type AdmissionOptions } from "./admission.js";
import { AdaptiveConcurrencyLimit } from "./concurrency-limit.js";
import { EventLoopLoad } from "./event-loop-load.js";
import { withPublicErrors } from "./edge-errors.js";
import { EdgeMetrics } from "./edge-metrics.js";
import { EdgeRules } from "./edge-rules.js";
import type { ValidatorConfig } from "./config.js";
import { startEdgeAuth } from "./auth/edge-auth.js";
import { startHttpListener } from "./http-listener.js";
import { addReflection } from "./reflection.js";
import { IdempotencyCache } from "./idempotency/idempotency-cache.js";
import { scoringRoutes, type ScoreResponseInit } from "./routes.js";
import type { ValidatedRowInit } from "./score-rows.js";
import { outcomeRoutes } from "./outcome-route.js";
import { decisionRoutes } from "./decision-route.js";

/**
 * The validator, the public edge: ScoringService on a gRPC listener and an HTTP listener (Connect JSON and
 * gRPC-Web) with the same handlers, server reflection on the gRPC listener, strict validation of every request
 * against the model's input schema. SERVING while the feature service is.
 */
export async function startValidator(config: ValidatorConfig, log: Logger): Promise<ServiceHost> {
  const metrics = new ServiceMetrics("validator", config.metricsAddress);
  const repo = new ModelRepository(config.modelRepository);
  const specs = new Map<string, FeatureSpec>(repo.models().map((m) => [m, repo.spec(m)]));
  const transport = createGrpcTransport({ address: config.featureAddr, credentials: config.tls.channel() });
  const feature = createClient(FeatureService, transport);
  const hop = new BatchMetrics(metrics.registry).batcher("scoremesh.feature.v1.FeatureService/ScoreRows");
  const batcher = config.batching
    ? new HopBatcher<ValidatedRowInit, RowDecision>(
        ({ key, rows, timeoutMs, signal }) =>
          feature.scoreRows({ model: key, rows }, { timeoutMs, signal }).then((r) => r.decisions),
        {
          name: "scoremesh.feature.v1.FeatureService/ScoreRows",
          windowMs: config.batchWindowUs / 1000,
          maxRows: config.batchMaxRows,
          maxInFlight: config.batchMaxInFlight,
          onBatch: hop.onBatch,
        },
      )
    : undefined;
  const auth = config.natsIdentity
    ? await startEdgeAuth(config.natsServers, config.natsIdentity, config.trustedOperators, log)
    : undefined;
  if (!auth) log.warn("VALIDATOR_AUTH=off: every call is scored without an API key");
  const routes = withPublicErrors(
    scoringRoutes({
      specs,
      feature,
      ...(batcher ? { batcher } : {}),
      defaultTimeoutMs: config.defaultTimeoutMs,
      ...(config.edgeRules
        ? {
            rules: new EdgeRules(specs, {
              reviewBand: config.rulesReviewBand,
              reserveMs: config.rulesReserveMs,
              log,
              registry: metrics.registry,
            }),
          }
        : {}),
      maxBatchRows: config.maxBatchRows,
      ...(auth ? { guard: auth.guard } : {}),
      ...(config.idempotency.windowMs > 0
        ? { idempotency: new IdempotencyCache<ScoreResponseInit>(config.idempotency, systemClock) }
        : {}),
    }),
    log,
  );
  const monitorTransport = config.monitorAddr
    ? createGrpcTransport({ address: config.monitorAddr, credentials: config.tls.channel() })
    : undefined;
  Object.assign(routes, withPublicErrors(outcomeRoutes(config, monitorTransport, auth?.guard), log));
  Object.assign(routes, withPublicErrors(decisionRoutes(config, monitorTransport, auth?.guard), log));
  const edgeMetrics = new EdgeMetrics(metrics.registry, new Set(specs.keys()));
  const admission = edgeAdmission(config, edgeMetrics);
  // The public listeners serve clients outside the mesh: TLS without client certificates, or plaintext.
  const edge = config.publicTls ? config.tls : MeshCredentials.plaintext();
  const host = new ServiceHost({
    name: "validator",
    address: config.grpcAddress,
    credentials: edge.edgeServer(),
    healthAddress: config.healthAddress,
    metrics,
    log,
    drainTimeoutMs: config.drainTimeoutMs,
    serverOptions: {
      "grpc.max_receive_message_length": config.maxMessageBytes,
      "grpc.max_concurrent_streams": config.maxConcurrentStreams,
      ...(admission ? { interceptors: [grpcAdmission(admission)] } : {}),
    },
  });
  host.add(ScoringService, edgeMetrics.wrap(ScoringService, routes, "grpc"));
  addReflection(host.server, [ScoringService]);
  await host.listen();
  const http = await startHttpListener(ScoringService, edgeMetrics.wrap(ScoringService, routes, "http"), {
    address: config.httpAddress,
    maxMessageBytes: config.maxMessageBytes,
    tls: edge.material,
    corsOrigins: config.corsOrigins,
    headersTimeoutMs: config.httpHeadersTimeoutMs,
    requestTimeoutMs: config.httpRequestTimeoutMs,
    keepAliveTimeoutMs: config.httpKeepAliveTimeoutMs,
    ...(admission ? { admission } : {}),
  });
  log.info(
    { address: config.httpAddress, port: http.port, tls: config.publicTls },
    "HTTP listener (Connect, gRPC-Web) started",
  );
  // Closed in reverse order: first the HTTP listener stops accepting and drains, then the rest.
  host.onClose(() => transport.close());
  if (monitorTransport) host.onClose(() => monitorTransport.close());
  if (auth) host.onClose(() => auth.close());
  if (batcher) {
    hop.watch(() => batcher.stats());
    host.onClose(batcher.logStats(log));
    host.onClose(() => batcher.close());
  }
  host.onClose(() => deps.close());
  host.onClose(() => closeHttp(http.server));
  const deps = new DependencyWatch([config.featureAddr], config.tls.channel(), (any) =>
    host.setServing(any, any ? "feature service is serving" : "feature service is not serving"),
  ).start();
  return host;
}

/** One adaptive concurrency limit for both listeners (VALIDATOR_CONCURRENCY_*); none when the max is 0. */
function edgeAdmission(config: ValidatorConfig, metrics: EdgeMetrics): AdmissionOptions | undefined {
  if (config.concurrencyMax === 0) return undefined;
  const loop = new EventLoopLoad();
  const busy = config.concurrencyBusyPercent / 100;
  const limit = new AdaptiveConcurrencyLimit(
    {
      minLimit: config.concurrencyMin,
      maxLimit: config.concurrencyMax,
      // Start roomy: a burst of a few hundred calls is cheap for the batched hops; the limit adapts down from here.
      initialLimit: Math.min(config.concurrencyMax, Math.max(config.concurrencyMin, 256)),
      // A loop busy all the time cannot accept connections or refuse calls promptly: leave it room.
      saturated: busy < 1 ? () => loop.sinceLast() > busy : () => false,
    },
    systemClock,
  );
  return {
    limit,
    pathPrefix: `/${ScoringService.typeName}/`,
    retryAfterMs: config.retryAfterMs,
    onRefused: (listener, path) => metrics.refused(listener, path, Code.ResourceExhausted),
  };
}

function closeHttp(server: Server | HttpsServer): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeIdleConnections();
  });
}
