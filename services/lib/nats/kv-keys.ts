import type { KV } from "nats";

/**
 * Every key of `kv` (those matching `filter`), collected before the caller reads any value: awaiting a `get`
 * inside nats.js's keys iterator loses keys (2.29; seen with two workers, two validator replicas).
 */
export async function kvKeys(kv: KV, filter?: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const k of await kv.keys(filter)) keys.push(k);
  return keys;
}
