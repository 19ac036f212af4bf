// The bounded tenant label moved to services/lib/service (the validator labels its metrics by tenant too).
export { TenantLabel } from "../lib/service/index.js";
