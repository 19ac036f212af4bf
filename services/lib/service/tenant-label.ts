/**
 * The `tenant` label of the monitor's metrics, bounded: the first `max` distinct tenants keep their id, any later
 * one is counted as "other" (a label set grows without bound otherwise); a record without a tenant (the edge ran
 * without authentication) is "none".
 *
 * @example
 *   const label = new TenantLabel(50);
 *   counter.inc({ tenant: label.of(record.tenantId) });
 */
export class TenantLabel {
  private readonly known = new Set<string>();

  constructor(private readonly max = 50) {}

  of(tenantId: string): string {
    if (!tenantId) return "none";
    if (this.known.has(tenantId)) return tenantId;
    if (this.known.size >= this.max) return "other";
    this.known.add(tenantId);
    return tenantId;
  }
}
