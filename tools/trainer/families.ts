import { creditDefault } from "./credit-default.js";
import { latePayment } from "./late-payment.js";
import type { ModelFamily } from "./model-family.js";

/** Every family the training kit knows, by name. */
export const FAMILIES: ReadonlyMap<string, ModelFamily> = new Map(
  [creditDefault, latePayment].map((f) => [f.model, f]),
);
