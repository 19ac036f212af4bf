/** One sample of the Prometheus text exposition format: a metric name, its labels and its value. */
export interface PromSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*,?\s*/g;

/**
 * The samples of the metrics named in `names` in a Prometheus text exposition (comments, other metrics and
 * unparsable lines skipped; label values unescaped).
 */
export function parsePromText(text: string, names: ReadonlySet<string>): PromSample[] {
  const out: PromSample[] = [];
  for (const line of text.split("\n")) {
    if (line.startsWith("#")) continue;
    const m = LINE.exec(line);
    if (!m || !names.has(m[1]!)) continue;
    const value = Number(m[4]);
    if (!Number.isFinite(value)) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[3] ?? "").matchAll(LABEL))
      labels[l[1]!] = l[2]!.replace(/\\(.)/g, (_, c: string) => (c === "n" ? "\n" : c));
    out.push({ name: m[1]!, labels, value });
  }
  return out;
}
