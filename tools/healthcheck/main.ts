import { credentials } from "@grpc/grpc-js";
// The one file, not the folder's index: a healthcheck starts every 10 s, and the index loads the whole RPC layer.
import { HealthProbe } from "../../services/lib/rpc/health-client.js";

/**
 * `node dist/tools/healthcheck/main.js HOST:PORT`: exits 0 when grpc.health.v1 on a service's plaintext health
 * listener (<PREFIX>_HEALTH_ADDR) answers SERVING within 2 s, 1 otherwise (the status on stderr), 2 on bad usage.
 * Compose's healthcheck: the distroless image has no shell and no grpc_health_probe, only node.
 */
async function main(argv: string[]): Promise<number> {
  const address = argv[0];
  if (!address || argv.length > 1 || !/^[^\s:]+:\d+$/.test(address)) {
    console.error("usage: healthcheck HOST:PORT (a service's plaintext health listener)");
    return 2;
  }
  const probe = new HealthProbe(address, credentials.createInsecure());
  try {
    const status = await probe.check("", 2000);
    if (status !== "SERVING") console.error(`${address}: ${status}`);
    return status === "SERVING" ? 0 : 1;
  } finally {
    probe.close();
  }
}

process.exitCode = await main(process.argv.slice(2));
