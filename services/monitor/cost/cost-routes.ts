import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import type { MonitorService } from "../../../gen/scoremesh/monitor/v1/monitor_pb.js";
import type { CostReport } from "./cost-report.js";

/** GetCost: UNIMPLEMENTED when the monitor has no targets to scrape (MONITOR_COST_TARGETS unset). */
export function costRoutes(cost?: CostReport): Partial<ServiceImpl<typeof MonitorService>> {
  return {
    getCost() {
      if (!cost) throw new ConnectError("cost is not measured: MONITOR_COST_TARGETS is not set", Code.Unimplemented);
      return cost.report();
    },
  };
}
