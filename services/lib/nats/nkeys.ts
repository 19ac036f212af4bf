import { nkeys as untyped } from "nats";

/** An nkey pair (Ed25519): a NATS user identity ("U...", seed "SU...") or an operator's signing key ("O...", "SO..."). */
export interface KeyPair {
  getPublicKey(): string;
  getSeed(): Uint8Array;
  sign(data: Uint8Array): Uint8Array;
  verify(data: Uint8Array, signature: Uint8Array): boolean;
}

interface Nkeys {
  createUser(): KeyPair;
  createOperator(): KeyPair;
  fromSeed(seed: Uint8Array): KeyPair;
  fromPublic(publicKey: string): KeyPair;
}

/**
 * The nkeys functions `nats` re-exports (from its dependency nkeys.js, not one of ours), typed here once: the
 * re-export's types do not resolve for the linter.
 */
export const nkeys = untyped as unknown as Nkeys;
