import { test } from "node:test";
import assert from "node:assert/strict";
import { nkeys } from "../../../../services/lib/nats/nkeys.js";
import {
  isSignedValue,
  operatorSigner,
  parseTrustedOperators,
  readSignedPolicy,
  SignatureError,
  signValue,
  TrustedOperatorsError,
  verifyValue,
  writeSignedPolicy,
} from "../../../../services/lib/nats/index.js";

const ana = operatorSigner(nkeys.createOperator().getSeed());
const eve = operatorSigner(nkeys.createOperator().getSeed());
const trusted = parseTrustedOperators(JSON.stringify({ operators: [{ name: "ana", publicKey: ana.publicKey }] }));
const place = { bucket: "scoremesh_policy", key: "credit-default" };
const payload = '{"model":"credit-default","championVersion":"2","schemaVersion":1}';

test("a value signed by a trusted operator verifies, naming the operator", () => {
  const signed = signValue(payload, place, ana);
  assert.ok(isSignedValue(signed));
  assert.deepEqual(verifyValue(signed, place, trusted), { payload, signer: ana.publicKey, operator: "ana" });
});

test("a tampered payload, a tampered signature, or the value replayed under another key is refused", () => {
  const signed = JSON.parse(signValue(payload, place, ana)) as { payload: string; signature: string };
  const altered = JSON.stringify({ ...signed, payload: payload.replace('"2"', '"3"') });
  assert.throws(() => verifyValue(altered, place, trusted), SignatureError);
  const sig = Buffer.from(signed.signature, "base64");
  sig[0] = sig[0]! ^ 1;
  const badSig = JSON.stringify({ ...signed, signature: sig.toString("base64") });
  assert.throws(() => verifyValue(badSig, place, trusted), /does not match the value/);
  assert.throws(
    () => verifyValue(JSON.stringify(signed), { ...place, key: "late-payment" }, trusted),
    /does not match the value/,
  );
});

test("a value signed by an unknown key is refused, naming the key", () => {
  const signed = signValue(payload, place, eve);
  assert.throws(
    () => verifyValue(signed, place, trusted),
    (e: unknown) => e instanceof SignatureError && e.message.includes(eve.publicKey) && /not a trusted/.test(e.message),
  );
});

test("an unsigned value (a bare policy, as older builds wrote) and garbage are refused", () => {
  assert.equal(isSignedValue(payload), false);
  assert.throws(() => verifyValue(payload, place, trusted), /unsigned value/);
  assert.throws(() => verifyValue("{}", place, trusted), /unsigned value/);
  assert.throws(() => verifyValue("not json", place, trusted), /not a signed value/);
});

test("a signed policy's updated_by is the verified signer, whatever the payload claims", () => {
  const { text } = writeSignedPolicy({ model: "credit-default", championVersion: "2" }, ana, trusted);
  const forgedName = JSON.parse(text) as { payload: string };
  const p = readSignedPolicy(text, "credit-default", trusted);
  assert.equal(p.updatedBy, "ana");
  assert.match(forgedName.payload, /"updatedBy":"ana"/);
  const claim = writeSignedPolicy({ model: "credit-default", championVersion: "2" }, ana, new Map());
  assert.match(
    (JSON.parse(claim.text) as { payload: string }).payload,
    /"updatedBy":"O/,
    "unknown to the writer: its key",
  );
  assert.equal(readSignedPolicy(claim.text, "credit-default", trusted).updatedBy, "ana");
  assert.throws(() => readSignedPolicy(text, "late-payment", trusted), SignatureError, "bound to its key");
});

test("the trusted-operators file: names and operator keys checked, duplicates refused", () => {
  assert.equal(trusted.get(ana.publicKey), "ana");
  const bad: [string, RegExp][] = [
    ["nope", /not JSON/],
    ["{}", /must be/],
    [JSON.stringify({ operators: [{ name: "", publicKey: ana.publicKey }] }), /operators\[0\]\.name/],
    [JSON.stringify({ operators: [{ name: "x", publicKey: "OABC" }] }), /operators\[0\]\.publicKey/],
    [JSON.stringify({ operators: [{ name: "x", publicKey: nkeys.createUser().getPublicKey() }] }), /operator nkey/],
    [
      JSON.stringify({
        operators: [
          { name: "a", publicKey: ana.publicKey },
          { name: "b", publicKey: ana.publicKey },
        ],
      }),
      /listed twice/,
    ],
  ];
  for (const [text, re] of bad)
    assert.throws(
      () => parseTrustedOperators(text),
      (e: unknown) => e instanceof TrustedOperatorsError && re.test(e.message),
      text,
    );
  assert.throws(() => operatorSigner(nkeys.createUser().getSeed()), /not an operator seed/);
});
