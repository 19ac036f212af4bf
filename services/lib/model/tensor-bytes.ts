/** Copies little-endian float32 bytes into a new, aligned Float32Array (Buffer#slice would not copy). */
export function copyFloats(raw: Uint8Array, n: number): Float32Array {
  const out = new Float32Array(n);
  new Uint8Array(out.buffer).set(raw.subarray(0, n * 4));
  return out;
}

/** A Float32Array as little-endian raw bytes (a view, no copy, on little-endian hosts). */
export function floatBytes(a: Float32Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}
