import type { EntityFeatureSpec, FeatureSpec } from "./feature-spec.js";

/**
 * An entity snapshot: precomputed per-entity feature values of one model family, written by a batch job (the
 * training kit writes the shipped one) and read by the feature service, which looks up each request's
 * `entity_id` in it. The file is JSON Lines:
 *
 *   line 1     the header (SnapshotHeader), one JSON object
 *   line 2 …   one entity per line, a JSON array: the entity id, then one value per header column, in order
 *              (a number, or null when the value is unknown: the feature is then imputed for that entity)
 *
 * e.g.
 *   {"format":"scoremesh.entity-snapshot.v1","model":"credit-default","created_at":"2005-10-01T00:00:00.000Z",…}
 *   ["C00000",0.0647,-0.0159,0.0397,3]
 *
 * Files are named `snapshot-<UTC time, yyyymmddThhmmssZ>.jsonl` (snapshotFileName), so that the newest sorts last.
 * Write a new one under another name (e.g. `.tmp`) and rename it into place: a half-written file is refused.
 */
export interface SnapshotHeader {
  format: typeof SNAPSHOT_FORMAT;
  model: string;
  /** When the batch job built the snapshot (ISO 8601, UTC): the snapshot's age is measured from it. */
  created_at: string;
  /** The time the source data describes (ISO 8601), when it differs from created_at. */
  as_of?: string;
  /** How many entity lines follow. */
  rows: number;
  /** The value columns of every entity line, in order. */
  columns: EntityFeatureSpec[];
  /** Where the values come from: the data file and its sha256. */
  source?: { file: string; sha256: string; id_rule?: string };
}

export const SNAPSHOT_FORMAT = "scoremesh.entity-snapshot.v1";

/** One entity's features by name; undefined where the snapshot holds null. */
export type EntityValues = Readonly<Record<string, number | undefined>>;

export interface EntitySnapshot {
  header: SnapshotHeader;
  entities: ReadonlyMap<string, EntityValues>;
}

/** A snapshot file that cannot be used. The message names the file and, where it applies, the line. */
export class SnapshotError extends Error {
  override name = "SnapshotError";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** What an entity id may be: the same rule the validator applies to request ids and entity ids. */
const ENTITY_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Parses and checks a snapshot file's text. Refuses (SnapshotError) a header that is not a v1 header of `model`,
 * columns that lack an entity feature the spec reads, a line that is not an array of an id and one finite number
 * (or null) per column, a duplicate id, and a row count other than the header's (a truncated file).
 *
 * @example parseSnapshot(readFileSync(path, "utf8"), { source: path, spec }).entities.get("C00042")
 */
export function parseSnapshot(
  text: string,
  opts: { source: string; spec?: FeatureSpec; model?: string },
): EntitySnapshot {
  const where = (line: number) => `${opts.source}:${line}`;
  const lines = text.split("\n");
  if (lines[lines.length - 1] === "") lines.pop();
  const header = parseHeader(lines[0], where(1));
  const model = opts.model ?? opts.spec?.model;
  if (model !== undefined && header.model !== model) {
    throw new SnapshotError(
      `${where(1)}: a snapshot of ${JSON.stringify(header.model)}, not of ${JSON.stringify(model)}`,
    );
  }
  const names = header.columns.map((c) => c.name);
  for (const need of requiredColumns(opts.spec)) {
    if (!names.includes(need)) throw new SnapshotError(`${where(1)}: no column ${need}, which the feature spec reads`);
  }
  if (lines.length - 1 !== header.rows) {
    throw new SnapshotError(
      `${opts.source}: ${lines.length - 1} entity lines, the header says ${header.rows} (truncated?)`,
    );
  }
  const entities = new Map<string, EntityValues>();
  for (let i = 1; i < lines.length; i++) {
    let cells: unknown;
    try {
      cells = JSON.parse(lines[i]!);
    } catch (cause) {
      throw new SnapshotError(`${where(i + 1)}: not JSON`, { cause });
    }
    if (!Array.isArray(cells) || cells.length !== names.length + 1) {
      throw new SnapshotError(`${where(i + 1)}: must be an array of the entity id and ${names.length} values`);
    }
    const [id, ...values] = cells as unknown[];
    if (typeof id !== "string" || !ENTITY_ID.test(id)) {
      throw new SnapshotError(`${where(i + 1)}: entity id ${JSON.stringify(id)} is not 1-128 letters, digits or ._:-`);
    }
    if (entities.has(id)) throw new SnapshotError(`${where(i + 1)}: duplicate entity id ${id}`);
    const row: Record<string, number | undefined> = {};
    values.forEach((v, k) => {
      if (v !== null && (typeof v !== "number" || !Number.isFinite(v))) {
        throw new SnapshotError(`${where(i + 1)}: ${names[k]} is ${JSON.stringify(v)}, not a finite number or null`);
      }
      row[names[k]!] = v ?? undefined;
    });
    entities.set(id, row);
  }
  return { header, entities };
}

function parseHeader(line: string | undefined, where: string): SnapshotHeader {
  let h: unknown;
  try {
    h = JSON.parse(line ?? "");
  } catch (cause) {
    throw new SnapshotError(`${where}: the header is not JSON`, { cause });
  }
  if (h === null || typeof h !== "object" || Array.isArray(h))
    throw new SnapshotError(`${where}: the header is not an object`);
  const r = h as Record<string, unknown>;
  if (r["format"] !== SNAPSHOT_FORMAT) {
    throw new SnapshotError(
      `${where}: format ${JSON.stringify(r["format"])}, expected ${JSON.stringify(SNAPSHOT_FORMAT)}`,
    );
  }
  if (typeof r["model"] !== "string" || r["model"] === "") throw new SnapshotError(`${where}: no model`);
  if (typeof r["created_at"] !== "string" || Number.isNaN(Date.parse(r["created_at"]))) {
    throw new SnapshotError(`${where}: created_at ${JSON.stringify(r["created_at"])} is not an ISO 8601 time`);
  }
  if (!Number.isSafeInteger(r["rows"]) || (r["rows"] as number) < 0)
    throw new SnapshotError(`${where}: rows must be a count`);
  const columns = r["columns"];
  if (
    !Array.isArray(columns) ||
    columns.some((c: { name?: unknown } | null) => typeof c?.name !== "string" || c.name === "")
  ) {
    throw new SnapshotError(`${where}: columns must be a list of {name, description}`);
  }
  const names = columns.map((c: EntityFeatureSpec) => c.name);
  if (new Set(names).size !== names.length) throw new SnapshotError(`${where}: duplicate column names`);
  return r as unknown as SnapshotHeader;
}

/** The entity features a spec's features read. */
function requiredColumns(spec: FeatureSpec | undefined): string[] {
  if (!spec) return [];
  return spec.features.flatMap((f) => (f.source.kind === "entity" ? [f.source.name] : []));
}

/**
 * The text of a snapshot file: the header, then one line per entity in the order given. Values are written as
 * they are (round them first for a smaller file); undefined and non-finite values become null.
 */
export function serializeSnapshot(
  header: Omit<SnapshotHeader, "format" | "rows">,
  entities: Iterable<readonly [string, EntityValues]>,
): string {
  const names = header.columns.map((c) => c.name);
  const lines: string[] = [];
  for (const [id, values] of entities) {
    lines.push(JSON.stringify([id, ...names.map((n) => (Number.isFinite(values[n]) ? values[n] : null))]));
  }
  const full: SnapshotHeader = { format: SNAPSHOT_FORMAT, ...header, rows: lines.length };
  const ordered = {
    format: full.format,
    model: full.model,
    created_at: full.created_at,
    ...(full.as_of !== undefined ? { as_of: full.as_of } : {}),
    rows: full.rows,
    columns: full.columns,
    ...(full.source !== undefined ? { source: full.source } : {}),
  };
  return [JSON.stringify(ordered), ...lines].join("\n") + "\n";
}

/** `snapshot-20051001T000000Z.jsonl` for a created_at of 2005-10-01T00:00:00Z: names sort by creation time. */
export function snapshotFileName(createdAt: string): string {
  const t = new Date(createdAt);
  if (Number.isNaN(t.getTime())) throw new RangeError(`created_at ${JSON.stringify(createdAt)} is not a time`);
  return `snapshot-${t
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d{3}Z$/, "Z")}.jsonl`;
}

/** Whether a file name is a snapshot's (snapshot-*.jsonl); other files in the folder, such as *.tmp, are ignored. */
export function isSnapshotFileName(name: string): boolean {
  return /^snapshot-[A-Za-z0-9._-]+\.jsonl$/.test(name);
}
