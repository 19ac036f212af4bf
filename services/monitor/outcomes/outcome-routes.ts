import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import type { MonitorService } from "../../../gen/scoremesh/monitor/v1/monitor_pb.js";
import { asConnect } from "../reviews/review-routes.js";
import type { OutcomeReporter } from "./outcome-report.js";

/** GetOutcomes: every version's outcomes by tier, calibration error and rolling AUC (UNAVAILABLE while NATS is away). */
export function outcomeRoutes(report?: OutcomeReporter): Partial<ServiceImpl<typeof MonitorService>> {
  return {
    async getOutcomes(req) {
      if (!report) throw new ConnectError("outcomes are not recorded by this monitor", Code.Unimplemented);
      try {
        return { versions: await report.versions(req.model || undefined) };
      } catch (err) {
        throw asConnect(err);
      }
    },
  };
}
