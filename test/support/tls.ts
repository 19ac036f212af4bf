import type { ChannelCredentials } from "@grpc/grpc-js";
import { devTlsEnv, type MeshTlsEnv } from "../../deploy/local/dev-certs.js";
import { EnvReader, readTlsConfig } from "../../services/lib/service/index.js";

/** Development certificates for a test that starts services itself: their TLS_* variables and a client's credentials. */
export interface TestTls extends MeshTlsEnv {
  /** Mutual TLS with the client certificate (client.pem). */
  credentials: ChannelCredentials;
}

/**
 * Makes the development CA and certificates in `<dir>/tls/` (as `npm start` does in .scoremesh/tls/).
 *
 * @example
 *   const tls = testTls(dir, ["model-worker"]);
 *   spawnService("model-worker", { ...tls.env, ...tls.serviceEnv("model-worker"), WORKER_ADDR: address, ... });
 *   createGrpcTransport({ address, credentials: tls.credentials });
 */
export function testTls(dir: string, services: readonly string[]): TestTls {
  const tls = devTlsEnv(dir, "mtls", services);
  return { ...tls, credentials: readTlsConfig(new EnvReader(tls.env)).channel() };
}
