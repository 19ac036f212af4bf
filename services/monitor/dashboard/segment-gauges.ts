import { Gauge, type Registry } from "prom-client";
import type { SegmentView } from "./segments.js";

/**
 * The segment view on /metrics, read at each scrape: `scoremesh_segment_approval_ratio{model, version, attribute}`
 * (lowest ÷ highest approval rate across the attribute's groups; absent while a group is under the minimum sample)
 * and `scoremesh_segment_approval_rate{model, version, attribute, group}` (tenants bounded to 50 names).
 */
export function registerSegmentGauges(registry: Registry, view: SegmentView): void {
  new Gauge({
    name: "scoremesh_segment_approval_ratio",
    help: "Lowest / highest approval rate across a segment attribute's groups (the four-fifths rule compares it with 0.8); absent until every group has the minimum sample.",
    labelNames: ["model", "version", "attribute"] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const v of view.view())
        for (const a of v.attributes)
          if (a.approvalRatio !== null)
            this.set({ model: v.model, version: v.version, attribute: a.attribute }, a.approvalRatio);
    },
  });
  new Gauge({
    name: "scoremesh_segment_approval_rate",
    help: "Share of a segment group's decisions that were approvals, since the monitor started.",
    labelNames: ["model", "version", "attribute", "group"] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const v of view.view())
        for (const a of v.attributes)
          for (const g of a.groups)
            this.set({ model: v.model, version: v.version, attribute: a.attribute, group: g.group }, g.approveRate);
    },
  });
}
