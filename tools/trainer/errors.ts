/** The training data cannot be used as it is: a malformed CSV, a missing column, a value outside the spec. */
export class TrainingDataError extends Error {
  override name = "TrainingDataError";

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}
