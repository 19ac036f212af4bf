/** The repository's JSON file format: 2-space indent and a trailing newline, so files diff cleanly. */
export function prettyJson(value: unknown): string {
  return JSON.stringify(value, null, 2) + "\n";
}
