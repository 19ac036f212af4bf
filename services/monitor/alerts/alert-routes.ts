import type { ServiceImpl } from "@connectrpc/connect";
import type { MonitorService } from "../../../gen/scoremesh/monitor/v1/monitor_pb.js";
import { alertMessage } from "./alert-message.js";
import type { MonitorAlerts } from "./start-alerts.js";

/** MonitorService.ListAlerts: the engine's current alerts (none, interval 0, when the monitor runs without one). */
export function alertRoutes(
  alerts: Pick<MonitorAlerts, "engine" | "intervalMs"> | undefined,
): Pick<ServiceImpl<typeof MonitorService>, "listAlerts"> {
  return {
    listAlerts(req) {
      const list = alerts?.engine.list({ model: req.model || undefined, activeOnly: req.activeOnly }) ?? [];
      return { alerts: list.map((a) => alertMessage(a)), intervalS: (alerts?.intervalMs ?? 0) / 1000 };
    },
  };
}
