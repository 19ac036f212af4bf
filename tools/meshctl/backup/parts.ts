import { MODEL_BUCKET, POLICY_BUCKET, ROLLOUT_BUCKET, TENANT_BUCKET } from "../../../services/lib/nats/index.js";
import { REVIEW_BUCKET } from "../../../services/monitor/reviews/action-signing.js";
import { DECISION_BUCKET, OUTCOME_COUNT_BUCKET } from "../../../services/monitor/outcomes/outcome-store.js";
import { OUTCOME_WINDOW_BUCKET } from "../../../services/monitor/outcomes/window-store.js";

/** The NATS identities a backup reads with and a restore writes with: each part as the role that owns it. */
export type BackupRole = "control" | "monitor" | "router" | "validator";

/** What a mesh cannot lose, per KV bucket, and the identity that may read and write it. */
export const BACKUP_BUCKETS: { bucket: string; role: "control" | "monitor"; skip?: (key: string) => boolean }[] = [
  { bucket: TENANT_BUCKET, role: "control" },
  { bucket: POLICY_BUCKET, role: "control" },
  // The policy history and the controller's status; its lease is a live claim of a running replica, not kept.
  { bucket: ROLLOUT_BUCKET, role: "control", skip: (k) => k === "lease" },
  { bucket: REVIEW_BUCKET, role: "monitor" },
  { bucket: DECISION_BUCKET, role: "monitor" },
  { bucket: OUTCOME_COUNT_BUCKET, role: "monitor" },
  // The rolling outcome windows behind outcomes per tier and the rolling AUC.
  { bucket: OUTCOME_WINDOW_BUCKET, role: "monitor" },
];

/** The model versions (control's object store). */
export const BACKUP_OBJECT_STORES = [MODEL_BUCKET];
