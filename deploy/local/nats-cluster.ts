import { join } from "node:path";
import { startNatsServer, type NatsServer } from "./nats-server.js";
import { freePort } from "./ports.js";

export interface NatsCluster {
  nodes: NatsServer[];
  /** Every node's client URL, comma-separated (NATS_URL). */
  url: string;
  stop(): Promise<void>;
}

/**
 * A JetStream cluster of `size` nats-server nodes on loopback (what Kubernetes runs as a StatefulSet): node i
 * serves clients on `ports[i]`, talks to the others over cluster routes on free ports, keeps its data under
 * `<dir>/node-<i>`, and shares `configFile` (users and permissions) with them. KV buckets created with
 * `replicas: 3` keep a copy on each node, so one node can go without losing an acknowledged write.
 */
export async function startNatsCluster(opts: {
  ports: number[];
  dir: string;
  configFile?: string;
  logFile?: number;
}): Promise<NatsCluster> {
  const routePorts = await Promise.all(opts.ports.map(() => freePort()));
  const routes = routePorts.map((p) => `nats://127.0.0.1:${p}`).join(",");
  const nodes = await Promise.all(
    opts.ports.map((port, i) =>
      startNatsServer({
        port,
        dir: join(opts.dir, `node-${i + 1}`),
        ...(opts.configFile ? { configFile: opts.configFile } : {}),
        ...(opts.logFile !== undefined ? { logFile: opts.logFile } : {}),
        // JetStream answers only once the nodes have elected a metadata leader (about half a second after start).
        readyWhen: /JetStream cluster new metadata leader|Self is new JetStream cluster metadata leader/,
        extraArgs: [
          "--name",
          `scoremesh-${i + 1}`,
          "--cluster_name",
          "scoremesh",
          "--cluster",
          `nats://127.0.0.1:${routePorts[i]}`,
          "--routes",
          routes,
        ],
      }),
    ),
  );
  return {
    nodes,
    url: nodes.map((n) => n.url).join(","),
    stop: async () => {
      await Promise.all(nodes.map((n) => n.stop()));
    },
  };
}

/** The cluster seen as one server (what the launcher stops, kills or hands to its clients): every node together. */
export function clusterAsServer(cluster: NatsCluster): NatsServer {
  const first = cluster.nodes[0]!;
  return {
    url: cluster.url,
    port: first.port,
    process: first.process,
    stop: () => cluster.stop(),
    kill: async (signal) => {
      await Promise.all(cluster.nodes.map((n) => n.kill(signal)));
    },
  };
}
