import { create, fromJsonString, toJsonString } from "@bufbuild/protobuf";
import { ed25519Signer, ed25519Verify, nkeyPublicKey } from "./ed25519.js";
import { SignedSchema } from "../../../gen/scoremesh/signing/v1/signing_pb.js";
import type { TrustedOperators } from "./trusted-operators.js";

/** The layout of the envelope this build writes (scoremesh.signing.v1.Signed.schema_version). */
export const SIGNED_SCHEMA_VERSION = 1;

/** A value refused because its signature does not prove a trusted writer: unsigned, unknown signer, or altered. */
export class SignatureError extends Error {
  override readonly name = "SignatureError";
}

/** Where a value lives; part of what is signed, so a value cannot be replayed under another bucket or key. */
export interface ValuePlace {
  bucket: string;
  key: string;
}

/** An operator's signing key (an operator nkey: Ed25519). */
export interface Signer {
  publicKey: string;
  sign(data: Uint8Array): Uint8Array;
}

/** A value whose signature checked out, with who signed it. */
export interface VerifiedValue {
  payload: string;
  /** The signer's public key. */
  signer: string;
  /** The signer's name in the trusted-operators file. */
  operator: string;
}

/** The signing key in an operator seed ("SO..."); throws when it is not one. */
export function operatorSigner(seed: Uint8Array | string): Signer {
  const bytes = typeof seed === "string" ? new TextEncoder().encode(seed.trim()) : seed;
  const publicKey = nkeyPublicKey(bytes);
  if (!publicKey.startsWith("O")) throw new Error("not an operator seed (SO...)");
  return { publicKey, sign: ed25519Signer(bytes) };
}

/** The bytes a signature covers: a domain tag, the place and the payload. */
function signedBytes(place: ValuePlace, payload: string): Uint8Array {
  return new TextEncoder().encode(`scoremesh.signing.v1\n${place.bucket}\n${place.key}\n${payload}`);
}

/**
 * `payload` (a value as its codec writes it) wrapped in a scoremesh.signing.v1.Signed envelope signed by `signer`,
 * as protobuf JSON: what goes into the KV bucket.
 *
 * @example
 *   await kv.put("credit-default", signValue(encodePolicy(p), { bucket: "scoremesh_policy", key: "credit-default" }, signer));
 */
export function signValue(payload: string, place: ValuePlace, signer: Signer): string {
  const envelope = create(SignedSchema, {
    payload,
    signer: signer.publicKey,
    signature: signer.sign(signedBytes(place, payload)),
    schemaVersion: SIGNED_SCHEMA_VERSION,
  });
  return toJsonString(SignedSchema, envelope);
}

/**
 * The payload of a signed value and who signed it; throws `SignatureError` when the value is unsigned (a bare
 * value, as older builds wrote), signed by a key not in `trusted`, or altered since it was signed (or signed for
 * another place).
 */
export function verifyValue(text: string, place: ValuePlace, trusted: TrustedOperators): VerifiedValue {
  const envelope = parseEnvelope(text);
  const operator = trusted.get(envelope.signer);
  if (operator === undefined)
    throw new SignatureError(`signed by ${envelope.signer}, which is not a trusted operator's key`);
  if (!verifies(envelope.signer, signedBytes(place, envelope.payload), envelope.signature))
    throw new SignatureError(`the signature of ${operator} (${envelope.signer}) does not match the value`);
  return { payload: envelope.payload, signer: envelope.signer, operator };
}

/** Whether `signature` is `publicKey`'s over `data` (false, not a throw, for a malformed signature). */
function verifies(publicKey: string, data: Uint8Array, signature: Uint8Array): boolean {
  try {
    return ed25519Verify(publicKey, data, signature);
  } catch {
    return false;
  }
}

/** True when `text` is a signed envelope at all (whoever signed it); false for a bare value or garbage. */
export function isSignedValue(text: string): boolean {
  try {
    parseEnvelope(text);
    return true;
  } catch {
    return false;
  }
}

function parseEnvelope(text: string) {
  let envelope;
  try {
    envelope = fromJsonString(SignedSchema, text, { ignoreUnknownFields: true });
  } catch {
    throw new SignatureError("not a signed value (unsigned, or not a scoremesh.signing.v1.Signed)");
  }
  if (!envelope.signer || envelope.signature.length === 0 || !envelope.payload)
    throw new SignatureError("unsigned value: no signer, signature or payload (written before values were signed?)");
  if (envelope.schemaVersion !== SIGNED_SCHEMA_VERSION)
    throw new SignatureError(`signed value of schema version ${envelope.schemaVersion}, not ${SIGNED_SCHEMA_VERSION}`);
  return envelope;
}
