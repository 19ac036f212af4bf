import type { ServiceName } from "../../deploy/k8s/mesh-spec.js";
import type { EnvReader } from "../../services/lib/service/index.js";
import { readConfig as validatorConfig } from "../../services/validator/config.js";
import { readConfig as featureConfig } from "../../services/feature/config.js";
import { readConfig as routerConfig } from "../../services/router/config.js";
import { readConfig as workerConfig } from "../../services/model-worker/config.js";
import { readConfig as monitorConfig } from "../../services/monitor/config.js";

/** Each service's own configuration reader: deploy tests check their manifests' environments with it. */
export const READ_CONFIG: Record<ServiceName, (env: EnvReader) => unknown> = {
  validator: validatorConfig,
  feature: featureConfig,
  router: routerConfig,
  "model-worker": workerConfig,
  monitor: monitorConfig,
};
