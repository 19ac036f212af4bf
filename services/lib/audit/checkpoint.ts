import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { createHash, createPrivateKey, createPublicKey, sign, verify, type KeyObject } from "node:crypto";
import {
  CheckpointBodySchema,
  CheckpointSchema,
  type Checkpoint,
  type CheckpointBody,
} from "../../../gen/scoremesh/audit/v1/audit_pb.js";
import type { Head } from "./chain.js";

/** The id of a public key: the first 16 hex characters of the SHA-256 of its SPKI DER. */
export function keyIdOf(key: KeyObject): string {
  const pub = key.type === "private" ? createPublicKey(key) : key;
  return createHash("sha256")
    .update(pub.export({ type: "spki", format: "der" }))
    .digest("hex")
    .slice(0, 16);
}

/** An Ed25519 private key from PEM (PKCS#8); throws naming what is wrong. */
export function ed25519PrivateKey(pem: string): KeyObject {
  const key = createPrivateKey(pem);
  if (key.asymmetricKeyType !== "ed25519") throw new Error(`not an Ed25519 key (${key.asymmetricKeyType})`);
  return key;
}

/** An Ed25519 public key from PEM (SPKI), or the public half of a private key's PEM. */
export function ed25519PublicKey(pem: string): KeyObject {
  const key = createPublicKey(pem);
  if (key.asymmetricKeyType !== "ed25519") throw new Error(`not an Ed25519 key (${key.asymmetricKeyType})`);
  return key;
}

/** A signed checkpoint over every chain head of `writer`. */
export function signCheckpoint(
  writer: string,
  seq: bigint,
  atMs: number,
  heads: [string, Head][],
  key: KeyObject,
): Checkpoint {
  const body = toBinary(
    CheckpointBodySchema,
    create(CheckpointBodySchema, {
      writer,
      seq,
      at: timestampFromMs(atMs),
      heads: heads.map(([model, h]) => ({ model, writer, seq: h.seq, hash: h.hash })),
    }),
  );
  return create(CheckpointSchema, { body, signature: sign(null, body, key), keyId: keyIdOf(key) });
}

/** The checkpoint's body when its signature holds under `key`; undefined when it does not. */
export function openCheckpoint(bytes: Uint8Array, key: KeyObject): CheckpointBody | undefined {
  const cp = fromBinary(CheckpointSchema, bytes);
  if (cp.keyId !== keyIdOf(key) || !verify(null, cp.body, key, cp.signature)) return undefined;
  return fromBinary(CheckpointBodySchema, cp.body);
}
