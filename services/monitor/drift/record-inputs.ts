/** AuditRecord field 12 (map<string, double> inputs): tag (12 << 3) | 2. */
const INPUTS_TAG = 0x62;
const utf8 = new TextDecoder();

/**
 * Calls `each` with every input of a record (DecisionRecord.inputs: an AuditRecord encoding holding only its
 * `inputs` map, as the feature service encoded it for the audit trail), without building a message: a small
 * reader of the map entries (key, double), ASCII names read directly. Stops quietly at anything else or at bytes
 * that do not parse (a bad record never stops drift; what was read before counts).
 */
export function forEachInput(encoded: Uint8Array, each: (name: string, value: number) => void): void {
  const view = new DataView(encoded.buffer, encoded.byteOffset, encoded.byteLength);
  let p = 0;
  while (p < encoded.length) {
    if (encoded[p++] !== INPUTS_TAG) return;
    const [len, q] = varint(encoded, p);
    const end = q + len;
    if (end > encoded.length) return;
    let name: string | undefined;
    let value: number | undefined;
    p = q;
    while (p < end) {
      const tag = encoded[p++];
      if (tag === 0x0a) {
        const [n, r] = varint(encoded, p);
        if (r + n > end) return;
        name = ascii(encoded, r, r + n);
        p = r + n;
      } else if (tag === 0x11 && p + 8 <= end) {
        value = view.getFloat64(p, true);
        p += 8;
      } else return;
    }
    if (name !== undefined) each(name, value ?? 0);
  }
}

/** A varint (lengths here are small) and the position after it; a malformed one reads as past the end. */
function varint(b: Uint8Array, p: number): [number, number] {
  let v = 0;
  for (let shift = 0; shift < 28; shift += 7) {
    const x = b[p++];
    if (x === undefined) return [Infinity, p];
    v |= (x & 0x7f) << shift;
    if (x < 0x80) return [v, p];
  }
  return [Infinity, p];
}

function ascii(b: Uint8Array, from: number, to: number): string {
  let s = "";
  for (let i = from; i < to; i++) {
    if (b[i]! >= 0x80) return utf8.decode(b.subarray(from, to));
    s += String.fromCharCode(b[i]!);
  }
  return s;
}
