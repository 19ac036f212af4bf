import type { TenantSettings } from "../../services/lib/nats/index.js";
import { CliError, type Output } from "./output.js";
import type { MeshTarget } from "./target.js";
import { tenantCreate, tenantList, tenantRevoke, tenantRotate, tenantShow } from "./tenant.js";
import { tenantUsage } from "./tenant-usage.js";

export const TENANT_USAGE = `usage: meshctl tenant create NAME [--models a,b|*] [--rate R] [--burst B] [--daily-quota Q] [--max-batch N] [--replace-refused]
       meshctl tenant list | show NAME | revoke NAME | rotate NAME [--grace SECONDS] | usage NAME`;

/** The options `tenant` reads (meshctl's parseArgs options). */
export interface TenantOptions {
  models?: string | undefined;
  rate?: string | undefined;
  burst?: string | undefined;
  "daily-quota"?: string | undefined;
  "max-batch"?: string | undefined;
  grace?: string | undefined;
  "replace-refused"?: boolean | undefined;
}

/** A number option in [min, max] (integer unless `real`), or `fallback` when absent; exit 2 naming the option otherwise. */
function num(name: string, raw: string | undefined, fallback: number, min: number, max: number, real = false): number {
  if (raw === undefined) return fallback;
  const v = Number(raw);
  if (!Number.isFinite(v) || v < min || v > max || (!real && !Number.isInteger(v)))
    throw new CliError(`--${name} must be ${real ? "a number" : "an integer"} in [${min}, ${max}], got ${raw}`, 2);
  return v;
}

/** Settings of `tenant create`: every model, 50 rows/s with a burst of twice that, no daily quota, the validator's batch limit. */
export function tenantSettings(id: string, o: TenantOptions): TenantSettings {
  const allowedModels = (o.models ?? "*")
    .split(",")
    .map((m) => m.trim())
    .filter(Boolean);
  if (allowedModels.length === 0)
    throw new CliError('--models must name at least one model, or "*" for every model', 2);
  const ratePerSecond = num("rate", o.rate, 50, 0.001, 1e9, true);
  return {
    id,
    allowedModels,
    ratePerSecond,
    burst: num("burst", o.burst, Math.max(1, Math.ceil(2 * ratePerSecond)), 1, 1e9),
    dailyQuota: BigInt(num("daily-quota", o["daily-quota"], 0, 0, Number.MAX_SAFE_INTEGER)),
    maxBatch: num("max-batch", o["max-batch"], 0, 0, 1e6),
  };
}

/** `meshctl tenant <sub> ...` */
export function tenantCommand(target: MeshTarget, rest: string[], o: TenantOptions, out: Output): Promise<void> {
  const [sub, ...names] = rest;
  const one = () => {
    if (names.length !== 1) throw new CliError(TENANT_USAGE, 2);
    return names[0]!;
  };
  switch (sub) {
    case "create":
      return tenantCreate(target, tenantSettings(one(), o), out, o["replace-refused"] === true);
    case "list":
      if (names.length) throw new CliError(TENANT_USAGE, 2);
      return tenantList(target, out);
    case "show":
      return tenantShow(target, one(), out);
    case "revoke":
      return tenantRevoke(target, one(), out);
    case "rotate":
      return tenantRotate(target, one(), num("grace", o.grace, 0, 0, 30 * 86400), out);
    case "usage":
      return tenantUsage(target, one(), out);
    default:
      throw new CliError(TENANT_USAGE, 2);
  }
}
