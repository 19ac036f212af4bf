export * from "./reading.js";
export { nextAlert } from "./step.js";
export { AlertEngine, type AlertEngineOptions } from "./engine.js";
export { DecisionWindows, type DecisionWindowOptions } from "./decision-windows.js";
export {
  driftSource,
  fallbackSource,
  flag,
  outcomeBandSource,
  segmentSource,
  splitVersion,
  type OutcomeBandReading,
  type PsiReading,
} from "./sources.js";
export { BreakerTable, splitTarget } from "./breaker-table.js";
export { alertMessage, alertSubject, ALERT_SUBJECT_PREFIX } from "./alert-message.js";
export { ALERT_STATE_VALUE, registerAlertGauges } from "./alert-metrics.js";
export { publishAlerts, startAlertNats, type AlertNats } from "./alert-nats.js";
export { readAlertsConfig, type AlertsConfig } from "./config.js";
export { startAlerts, type MonitorAlerts } from "./start-alerts.js";
