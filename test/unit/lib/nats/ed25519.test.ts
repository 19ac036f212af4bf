import { test } from "node:test";
import assert from "node:assert/strict";
import { nkeyAuthenticator } from "nats";
import { ed25519Signer, ed25519Verify, nkeyPublicKey } from "../../../../services/lib/nats/ed25519.js";
import { identityOptions } from "../../../../services/lib/nats/index.js";
import { nkeys } from "../../../../services/lib/nats/nkeys.js";

const data = new TextEncoder().encode("scoremesh.signing.v1\nscoremesh_policy\ncredit-default\n{}");

test("node:crypto signs exactly as nkeys (tweetnacl) does, for operator and user seeds", () => {
  for (const kp of [nkeys.createOperator(), nkeys.createUser(), nkeys.createOperator()]) {
    assert.deepEqual(ed25519Signer(kp.getSeed())(data), kp.sign(data));
  }
});

test("verify accepts the key's signature and refuses another key's, altered data and a short signature", () => {
  const kp = nkeys.createOperator();
  const other = nkeys.createOperator();
  const sig = kp.sign(data);
  assert.equal(ed25519Verify(kp.getPublicKey(), data, sig), true);
  assert.equal(ed25519Verify(other.getPublicKey(), data, sig), false);
  assert.equal(ed25519Verify(kp.getPublicKey(), new TextEncoder().encode("other"), sig), false);
  const flipped = Uint8Array.from(sig);
  flipped[10]! ^= 1;
  assert.equal(ed25519Verify(kp.getPublicKey(), data, flipped), false);
  assert.equal(ed25519Verify(kp.getPublicKey(), data, sig.subarray(0, 63)), false);
  assert.equal(nkeys.fromPublic(kp.getPublicKey()).verify(data, ed25519Signer(kp.getSeed())(data)), true);
});

test("a malformed key or seed throws", () => {
  const pk = nkeys.createOperator().getPublicKey();
  const broken = pk.slice(0, -1) + (pk.endsWith("A") ? "B" : "A");
  assert.throws(() => ed25519Verify(broken, data, new Uint8Array(64)));
  assert.throws(() => ed25519Signer(new TextEncoder().encode("SUNOTASEED")));
});

test("the NATS authenticator sends what nats' nkeyAuthenticator sends", () => {
  const kp = nkeys.createUser();
  const ours = identityOptions({ seed: kp.getSeed(), publicKey: kp.getPublicKey() }).authenticator as (
    nonce?: string,
  ) => unknown;
  const theirs = nkeyAuthenticator(kp.getSeed());
  for (const nonce of ["c2VjcmV0IG5vbmNl", "x", undefined]) assert.deepEqual(ours(nonce), theirs(nonce));
});

test("the public key of a seed is nkeys' own, for operator and user seeds", () => {
  for (let i = 0; i < 20; i++)
    for (const kp of [nkeys.createOperator(), nkeys.createUser()])
      assert.equal(nkeyPublicKey(kp.getSeed()), kp.getPublicKey());
});
