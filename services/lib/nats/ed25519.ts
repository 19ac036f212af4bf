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

/** RFC 4648 base32 without padding. */
function base32Encode(bytes: Uint8Array): string {
  let out = "";
  let bits = 0;
  let value = 0;
  for (const b of bytes) {
    value = ((value << 8) | b) & 0xffff;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  return bits > 0 ? out + BASE32[(value << (5 - bits)) & 31] : out;
}

/** CRC-16/XMODEM (CCITT polynomial 0x1021, initial 0), the checksum of nkeys. */
function crc16(bytes: Uint8Array): number {
  let crc = 0;
  for (const b of bytes) {
    crc ^= b << 8;
    for (let i = 0; i < 8; i++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
}

function privateKeyOf(seed: Uint8Array): KeyObject {
  return createPrivateKey({ key: Buffer.concat([PKCS8_HEADER, rawSeed(seed)]), format: "der", type: "pkcs8" });
}

/**
 * The public key ("U...", "O...") of an nkey seed ("SU...", "SO..."), as nkeys' getPublicKey() gives it: the seed's
 * role byte, the Ed25519 public key and a CRC-16 (little-endian), in base32.
 */
export function nkeyPublicKey(seed: Uint8Array): string {
  const key = privateKeyOf(seed); // checks the seed (nkeys.fromSeed) first
  const prefix = base32Decode(new TextDecoder().decode(seed)).subarray(0, 2);
  const role = ((prefix[0]! & 7) << 5) | (prefix[1]! >> 3);
  const spki = createPublicKey(key).export({ format: "der", type: "spki" });
  const body = Buffer.concat([Buffer.from([role]), spki.subarray(SPKI_HEADER.length)]);
  const check = Buffer.alloc(2);
  check.writeUInt16LE(crc16(body));
  return base32Encode(Buffer.concat([body, check]));
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
  const key = privateKeyOf(seed);
  return (data) => new Uint8Array(sign(null, data, key));
}
