import { UsageStore, utcDay } from "../../services/lib/nats/index.js";
import { withNats } from "./nats.js";
import { CliError, printJson, type Output } from "./output.js";
import type { MeshTarget } from "./target.js";
import { KvValueError, refusalReason, SignatureError, TenantStore } from "../../services/lib/nats/index.js";

/** A tenant's usage today (UTC), summed over every validator replica's counters. */
export interface UsageView {
  tenant: string;
  day: string;
  calls: number;
  rows: number;
  refused: Record<string, number>;
  dailyQuota: number;
  /** Rows left today; null without a daily quota. */
  quotaLeft: number | null;
  /** Replicas that counted for the tenant today. */
  replicas: number;
}

/** `meshctl tenant usage NAME`: calls and rows today, refusals by reason, quota left (counters are ~1 s behind). */
export async function tenantUsage(target: MeshTarget, id: string, out: Output): Promise<void> {
  const now = Date.now();
  const view = await withNats(target, async (nc) => {
    const t = await (
      await TenantStore.open(nc, { trusted: target.trustedOperators() })
    )
      .get(id)
      .catch((err: unknown) => {
        if (!(err instanceof SignatureError || err instanceof KvValueError)) throw err;
        throw new CliError(`the tenant's value is refused by validators: ${refusalReason(err)}`);
      });
    if (!t) throw new CliError(`no tenant ${id}`);
    const parts = await (await UsageStore.open(nc)).today(id, now);
    const v: UsageView = {
      tenant: id,
      day: utcDay(now),
      calls: 0,
      rows: 0,
      refused: {},
      dailyQuota: Number(t.dailyQuota),
      quotaLeft: null,
      replicas: parts.length,
    };
    for (const p of parts) {
      v.calls += Number(p.calls);
      v.rows += Number(p.rows);
      for (const [k, n] of Object.entries(p.refused)) v.refused[k] = (v.refused[k] ?? 0) + Number(n);
    }
    if (v.dailyQuota > 0) v.quotaLeft = Math.max(0, v.dailyQuota - v.rows);
    return v;
  });
  if (out.json) return printJson(view);
  const refused = Object.entries(view.refused).map(([k, n]) => `${k} ${n}`);
  console.log(
    `${id} on ${view.day} (UTC): ${view.calls} calls admitted, ${view.rows} rows; refused: ${refused.join(", ") || "none"}; ` +
      `quota left: ${view.quotaLeft === null ? "no daily quota" : `${view.quotaLeft} of ${view.dailyQuota} rows`}`,
  );
}
