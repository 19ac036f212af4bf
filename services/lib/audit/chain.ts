import { createHash } from "node:crypto";

/** SHA-256 of `bytes`. */
export function sha256(bytes: Uint8Array): Uint8Array {
  return createHash("sha256").update(bytes).digest();
}

/** The previous hash of a chain's first record. */
export const GENESIS_HASH = new Uint8Array(32);

/** The head of one chain: its last record's sequence number and hash. */
export interface Head {
  seq: bigint;
  hash: Uint8Array;
}

/**
 * The chain heads of one writer, one chain per model. `next` says where the model's next record goes; `commit`
 * moves the head once the record's bytes are known (they carry the link, so the hash covers it).
 *
 * @example
 * const link = chains.next("credit-default");   // { seq: 1n, prevHash: GENESIS_HASH }
 * const bytes = serialize({ ...record, link });
 * chains.commit("credit-default", link.seq, bytes);
 */
export class Chains {
  private readonly heads = new Map<string, Head>();
  /** Bumped by every commit, so a checkpointer can tell whether anything moved. */
  version = 0;

  next(model: string): { seq: bigint; prevHash: Uint8Array } {
    const h = this.heads.get(model);
    return h ? { seq: h.seq + 1n, prevHash: h.hash } : { seq: 1n, prevHash: GENESIS_HASH };
  }

  commit(model: string, seq: bigint, bytes: Uint8Array): void {
    this.heads.set(model, { seq, hash: sha256(bytes) });
    this.version++;
  }

  /** Every chain's head, by model. */
  all(): [string, Head][] {
    return [...this.heads];
  }
}

/** Bytes as lowercase hex (for reports). */
export function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString("hex");
}

/** Two byte arrays hold the same bytes. */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a).equals(Buffer.from(b));
}
