/**
 * How many NATS servers keep a copy of each KV bucket this process creates (NATS_REPLICAS: 1 for one server, 3 for
 * a three-node JetStream cluster, so that a node can go without losing an acknowledged write or the bucket). Set
 * once at start-up from the configuration (`natsServers` reads and checks the variable); a bucket that already
 * exists keeps the replicas it was created with.
 */
let replicas = 1;

export function setBucketReplicas(n: number): void {
  replicas = n;
}

/** This process's replica count for the buckets and streams it creates. */
export function bucketReplicas(): number {
  return replicas;
}

/** `options` for `views.kv(name, options)` with this process's replica count. */
export function withReplicas<T extends object>(options: T): T & { replicas: number } {
  return { ...options, replicas };
}
