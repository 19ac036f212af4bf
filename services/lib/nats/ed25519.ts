import { createPrivateKey, createPublicKey, sign, verify, type KeyObject } from "node:crypto";
import { nkeys } from "./nkeys.js";

/**
 * Ed25519 signing and verification for nkeys with node:crypto (OpenSSL). nkeys.js (what `nats` uses) does it with
 * tweetnacl, pure JavaScript: 10-50 ms of CPU per key derivation, signature or check in a process that has just
 * started, and every service, meshctl run and launcher start does a handful of each (the NATS nonce, the signed
 * policies and tenants). The signatures are the same bytes (Ed25519 is deterministic).
 */

/** DER headers that make a raw 32-byte Ed25519 key a PKCS#8 private key or an SPKI public key (RFC 8410). */
const PKCS8_HEADER = Buffer.from("302e020100300506032b657004220420", "hex");
const SPKI_HEADER = Buffer.from("302a300506032b6570032100", "hex");
const BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/** RFC 4648 base32 without padding, as nkeys encode keys and seeds. */
function base32Decode(text: string): Buffer {
  const out: number[] = [];
  let bits = 0;
  let value = 0;
  for (const ch of text) {
    const v = BASE32.indexOf(ch);
    if (v < 0) throw new Error("not an nkey: invalid base32");
    value = (value << 5) | v;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

/** The raw 32-byte key of an nkey public key ("U...", "O...": one prefix byte, the key, a CRC-16). */
function rawPublicKey(publicKey: string): Buffer {
  nkeys.fromPublic(publicKey); // checks the prefix and the checksum; throws otherwise
  return base32Decode(publicKey).subarray(1, 33);
}

/** The raw 32-byte seed of an nkey seed ("SU...", "SO...": two prefix bytes, the seed, a CRC-16). */
function rawSeed(seed: Uint8Array): Buffer {
  nkeys.fromSeed(seed); // checks the prefix and the checksum (no key derivation); throws otherwise
  return base32Decode(new TextDecoder().decode(seed)).subarray(2, 34);
}

const publicKeys = new Map<string, KeyObject>();

/** Whether `signature` is the Ed25519 signature of `publicKey` (an nkey) over `data`; throws on a malformed key. */
export function ed25519Verify(publicKey: string, data: Uint8Array, signature: Uint8Array): boolean {
  let key = publicKeys.get(publicKey);
  if (!key) {
    key = createPublicKey({ key: Buffer.concat([SPKI_HEADER, rawPublicKey(publicKey)]), format: "der", type: "spki" });
    publicKeys.set(publicKey, key);
  }
  return signature.length === 64 && verify(null, data, key, signature);
}

/** A signing function for an nkey seed: Ed25519 signatures over the data it is given. */
export function ed25519Signer(seed: Uint8Array): (data: Uint8Array) => Uint8Array {
  const key = createPrivateKey({ key: Buffer.concat([PKCS8_HEADER, rawSeed(seed)]), format: "der", type: "pkcs8" });
  return (data) => new Uint8Array(sign(null, data, key));
}
