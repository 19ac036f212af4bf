import { createHash, randomBytes, timingSafeEqual } from "node:crypto";

/** A new API key: what a client sends, once, and what the tenant bucket keeps of it. */
export interface NewApiKey {
  /** `sm_<keyId>_<secret>`: printed once, kept nowhere. */
  key: string;
  /** The public id (16 hex digits): safe to log and to show. */
  keyId: string;
  /** SHA-256 of the secret: all the mesh keeps. */
  secretSha256: Uint8Array;
}

const KEY_RE = /^sm_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;

/** A fresh key: 8 random bytes of id (hex) and 32 random bytes of secret (base64url). */
export function newApiKey(): NewApiKey {
  const keyId = randomBytes(8).toString("hex");
  const secret = randomBytes(32).toString("base64url");
  return { key: `sm_${keyId}_${secret}`, keyId, secretSha256: sha256(secret) };
}

/** The id and secret of a key as a client sent it, or undefined when it does not have the shape of one. */
export function parseApiKey(key: string): { keyId: string; secret: string } | undefined {
  const m = KEY_RE.exec(key);
  return m ? { keyId: m[1]!, secret: m[2]! } : undefined;
}

/** Whether `secret` is the one whose SHA-256 is `expected`, compared in constant time. */
export function secretMatches(secret: string, expected: Uint8Array): boolean {
  const got = sha256(secret);
  return expected.length === got.length && timingSafeEqual(got, expected);
}

function sha256(text: string): Uint8Array {
  return new Uint8Array(createHash("sha256").update(text).digest());
}
