import { BinaryWriter } from "@bufbuild/protobuf/wire";

/** The type name of google.rpc.RetryInfo, the standard error detail that tells a client when to retry. */
export const RETRY_INFO_TYPE = "google.rpc.RetryInfo";

/**
 * A google.rpc.RetryInfo error detail (`retry_delay` = `ms`) for a ConnectError, encoded by hand: it is one
 * Duration field, and proto/google/rpc carries only the messages we otherwise use.
 */
export function retryInfo(ms: number): { type: string; value: Uint8Array } {
  const seconds = Math.floor(ms / 1000);
  const nanos = Math.round((ms - seconds * 1000) * 1e6);
  const w = new BinaryWriter().tag(1, 2).fork();
  if (seconds) w.tag(1, 0).int64(seconds);
  if (nanos) w.tag(2, 0).int32(nanos);
  return { type: RETRY_INFO_TYPE, value: w.join().finish() };
}

/** Reads the retry delay in ms back from a RetryInfo detail's bytes (for clients and tests). */
export function readRetryDelayMs(value: Uint8Array): number {
  // RetryInfo { Duration retry_delay = 1 } with Duration { int64 seconds = 1; int32 nanos = 2 }.
  let i = 0;
  const varint = () => {
    let v = 0;
    let shift = 0;
    for (;;) {
      const b = value[i++]!;
      v += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) return v;
      shift += 7;
    }
  };
  if (value[i++] !== 0x0a) return 0;
  const end = varint() + i;
  let seconds = 0;
  let nanos = 0;
  while (i < end) {
    const tag = value[i++];
    if (tag === 0x08) seconds = varint();
    else if (tag === 0x10) nanos = varint();
    else return 0;
  }
  return seconds * 1000 + nanos / 1e6;
}
