import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { AlertDirection, AlertSchema, AlertState, type Alert } from "../../../gen/scoremesh/alert/v1/alert_pb.js";
import type { AlertStateName, AlertView } from "./reading.js";

const STATE: Record<AlertStateName, AlertState> = {
  ok: AlertState.OK,
  pending: AlertState.PENDING,
  firing: AlertState.FIRING,
};

/** An alert as scoremesh.alert.v1.Alert (ListAlerts, and what is published on NATS with `previous`). */
export function alertMessage(a: AlertView, previous?: AlertStateName): Alert {
  return create(AlertSchema, {
    rule: a.rule,
    model: a.model,
    modelVersion: a.version,
    subject: a.subject,
    state: STATE[a.state],
    value: a.value,
    threshold: a.threshold,
    clear: a.clear,
    direction: a.direction === "above" ? AlertDirection.ABOVE : AlertDirection.BELOW,
    sample: BigInt(Math.max(0, Math.floor(a.sample))),
    minSample: BigInt(Math.max(0, Math.floor(a.minSample))),
    since: timestampFromMs(a.since),
    evaluatedAt: timestampFromMs(a.evaluatedAt),
    previous: previous ? STATE[previous] : AlertState.UNSPECIFIED,
  });
}

/** The subject prefix of published alerts: `scoremesh.alerts.<model>`. */
export const ALERT_SUBJECT_PREFIX = "scoremesh.alerts";

/**
 * The NATS subject of a model's alerts. A model name is one subject token (no ".", "*", ">" or white space:
 * those become "_"); an alert of no model (a worker with nothing ready) goes to `scoremesh.alerts._`.
 */
export function alertSubject(model: string): string {
  return `${ALERT_SUBJECT_PREFIX}.${model.replace(/[.*>\s]/g, "_") || "_"}`;
}
