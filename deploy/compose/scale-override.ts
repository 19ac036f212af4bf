import { Document, type YAMLSeq } from "yaml";
import type { ServiceName } from "../k8s/mesh-spec.js";

/**
 * The services `--scale` may run several of: stateless, found by their clients through Docker's DNS (validators
 * balance over features, routers resolve every worker). Not routers and validators (one audit spool volume each),
 * nor the monitor (one, as on Kubernetes).
 */
export const SCALABLE: readonly ServiceName[] = ["feature", "model-worker"];

/**
 * compose.scale.yaml, an override for `-f compose.yaml -f compose.scale.yaml up --scale model-worker=3`: the fixed
 * host ports of the scalable services dropped (`!reset`, Compose 2.24 or later), since a second replica cannot bind
 * the same host port. meshctl then reaches routers, validators and the monitor, not those services. The cost per
 * 1,000 decisions is off: a service's name would answer for another replica at each scrape, and its counters
 * would read as restarts.
 */
export function scaleOverride(): Document {
  const services: Record<string, object> = Object.fromEntries(SCALABLE.map((svc) => [svc, { ports: [] }]));
  services["monitor"] = { environment: { MONITOR_COST_TARGETS: "" } };
  const doc = new Document({ services }, { version: "1.1" });
  for (const svc of SCALABLE) (doc.getIn(["services", svc, "ports"], true) as YAMLSeq).tag = "!reset";
  return doc;
}
