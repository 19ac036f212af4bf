import type { BreakerTransition } from "../../router/breakers/breaker-sync.js";
import { flag } from "./sources.js";
import type { AlertReading, AlertSource } from "./reading.js";

/**
 * The routers' circuit breakers as the breaker bucket (scoremesh_breakers) shares them: the latest transition per
 * target, newest epoch wins. The breaker_open rule is 1 while a target's breaker is not closed (OPEN or
 * HALF_OPEN: a breaker that keeps failing its trial calls cycles between the two), so it fires when one stays
 * away from CLOSED for the hold time. Pure.
 */
export class BreakerTable implements AlertSource {
  private readonly latest = new Map<string, BreakerTransition>();

  apply(t: BreakerTransition): void {
    const prev = this.latest.get(t.target);
    if (prev && (prev.epoch > t.epoch || (prev.epoch === t.epoch && prev.at > t.at))) return;
    this.latest.set(t.target, t);
  }

  readings(): AlertReading[] {
    return [...this.latest.values()].map((t) => {
      const { address, model, version } = splitTarget(t.target);
      return flag("breaker_open", model, version, address, t.state !== "CLOSED");
    });
  }
}

/** "address/model/version" (the address may itself hold "/", e.g. dns:///worker:50081) → its parts. */
export function splitTarget(target: string): { address: string; model: string; version: string } {
  const parts = target.split("/");
  const version = parts.length >= 3 ? parts.pop()! : "";
  const model = parts.length >= 2 ? parts.pop()! : "";
  return { address: parts.join("/"), model, version };
}
