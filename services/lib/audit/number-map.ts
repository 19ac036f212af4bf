import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";

/** AuditRecord's map<string, double> fields that the feature service encodes for the router (router.proto ReplayInputs). */
export const AUDIT_INPUTS_FIELD = 12;
export const AUDIT_ENTITY_FEATURES_FIELD = 25;

const PRINTABLE_ASCII = /^[\x20-\x7e]{0,99}$/;

/**
 * Writes the entries of a map<string, double> field as protobuf-es's toBinary writes them (each entry: key 1, value
 * 2, both always present; in the object's key order), leaving out the keys `skip` holds and undefined values. For
 * short ASCII keys (every input name) the entry's length is known in advance: no fork and join per entry.
 */
export function writeNumberMap(
  w: BinaryWriter,
  field: number,
  m: Readonly<Record<string, number | undefined>>,
  skip?: ReadonlySet<string>,
): void {
  for (const k in m) {
    const v = m[k];
    if (v === undefined || skip?.has(k)) continue;
    const known = PRINTABLE_ASCII.test(k);
    if (known) w.tag(field, WireType.LengthDelimited).uint32(k.length + 11);
    else w.tag(field, WireType.LengthDelimited).fork();
    w.tag(1, WireType.LengthDelimited).string(k).tag(2, WireType.Bit64).double(v);
    if (!known) w.join();
  }
}

/** The encoded entries of a map<string, double> field `field` (see writeNumberMap): empty for an empty map. */
export function encodeNumberMap(
  field: number,
  m: Readonly<Record<string, number | undefined>>,
  skip?: ReadonlySet<string>,
): Uint8Array {
  const w = new BinaryWriter();
  writeNumberMap(w, field, m, skip);
  return w.finish();
}
