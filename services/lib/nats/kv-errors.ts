/**
 * True for JetStream's "wrong last sequence" (err_code 10071): a compare-and-set on a revision that moved, or a
 * create of a key that exists.
 */
export function isWrongRevision(err: unknown): boolean {
  const e = err as { api_error?: { err_code?: number }; message?: string } | undefined;
  return e?.api_error?.err_code === 10071 || /wrong last sequence/i.test(e?.message ?? "");
}
