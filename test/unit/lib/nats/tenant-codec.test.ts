import { test } from "node:test";
import assert from "node:assert/strict";
import { create } from "@bufbuild/protobuf";
import { TenantSchema } from "../../../../gen/scoremesh/tenant/v1/tenant_pb.js";
import { nkeys } from "../../../../services/lib/nats/nkeys.js";
import {
  decodeTenant,
  encodeTenant,
  KvValueError,
  newApiKey,
  operatorSigner,
  parseApiKey,
  parseTrustedOperators,
  readSignedTenant,
  refusalReason,
  secretMatches,
  SignatureError,
  signValue,
  TENANT_BUCKET,
  writeSignedTenant,
} from "../../../../services/lib/nats/index.js";

test("API keys: sm_<16 hex>_<43 base64url>, only the secret's hash kept, compared to it", () => {
  const k = newApiKey();
  const parsed = parseApiKey(k.key);
  assert.equal(parsed?.keyId, k.keyId);
  assert.ok(secretMatches(parsed.secret, k.secretSha256));
  assert.ok(!secretMatches(parsed.secret + "x", k.secretSha256));
  assert.ok(!k.key.includes(Buffer.from(k.secretSha256).toString("base64url")));
  assert.notEqual(newApiKey().key, k.key);
  for (const bad of ["", "sm_", `sm_${k.keyId}`, k.key + "=", k.key.replace("sm_", "sk_"), k.key.toUpperCase()])
    assert.equal(parseApiKey(bad), undefined, bad);
});

test("a tenant round-trips as protobuf JSON with its schema version; bad ones are refused naming the field", () => {
  const t = create(TenantSchema, { id: "acme", allowedModels: ["*"], ratePerSecond: 5, burst: 10, dailyQuota: 7n });
  const text = encodeTenant(t);
  assert.equal((JSON.parse(text) as { schemaVersion: number }).schemaVersion, 1);
  assert.equal(decodeTenant(text).dailyQuota, 7n);
  const bad = (change: Record<string, unknown>) => JSON.stringify({ ...JSON.parse(text), ...change });
  assert.throws(() => decodeTenant(bad({ allowedModels: [] })), /allowedModels is empty/);
  assert.throws(() => decodeTenant(bad({ id: "Has.Dot" })), /id "Has.Dot" must match/);
  assert.throws(() => decodeTenant(bad({ ratePerSecond: 0 })), /ratePerSecond/);
  assert.throws(() => decodeTenant(bad({ schemaVersion: 0 })), KvValueError);
  assert.throws(() => decodeTenant(bad({ schemaVersion: 2 })), /schema version 2/);
});

const ana = operatorSigner(nkeys.createOperator().getSeed());
const eve = operatorSigner(nkeys.createOperator().getSeed());
const trusted = parseTrustedOperators(JSON.stringify({ operators: [{ name: "ana", publicKey: ana.publicKey }] }));
const k = newApiKey();
const acme = create(TenantSchema, {
  id: "acme",
  allowedModels: ["*"],
  ratePerSecond: 5,
  burst: 10,
  keys: [{ keyId: k.keyId, secretSha256: k.secretSha256 }],
  updatedBy: "whoever the writer says",
});

test("a signed tenant round-trips; updated_by is the verified signer's name, whatever the payload says", () => {
  const { text, tenant } = writeSignedTenant(acme, ana, trusted);
  assert.equal(tenant.updatedBy, "ana");
  const t = readSignedTenant(text, "acme", trusted);
  assert.equal(t.id, "acme");
  assert.equal(t.updatedBy, "ana");
  assert.equal(t.keys[0]?.keyId, k.keyId);
  assert.deepEqual(t.keys[0]?.secretSha256, k.secretSha256);
  // The payload claims another writer: readers still say who signed.
  const claimed = encodeTenant(create(TenantSchema, { ...acme, updatedBy: "root" }));
  const signed = signValue(claimed, { bucket: TENANT_BUCKET, key: "acme" }, ana);
  assert.equal(readSignedTenant(signed, "acme", trusted).updatedBy, "ana");
});

test("a forged signature, an unknown operator, an unsigned value, or a value under another key is refused", () => {
  const { text } = writeSignedTenant(acme, ana, trusted);
  const envelope = JSON.parse(text) as { payload: string; signature: string };
  // An extra key slipped into a signed value: the signature no longer matches.
  const other = newApiKey();
  const payload = JSON.parse(envelope.payload) as { keys: unknown[] };
  payload.keys.push({ keyId: other.keyId, secretSha256: Buffer.from(other.secretSha256).toString("base64") });
  const forged = JSON.stringify({ ...envelope, payload: JSON.stringify(payload) });
  assert.throws(() => readSignedTenant(forged, "acme", trusted), /does not match the value/);
  const sig = Buffer.from(envelope.signature, "base64");
  sig[3] = sig[3]! ^ 0x40;
  const badSig = JSON.stringify({ ...envelope, signature: sig.toString("base64") });
  assert.throws(() => readSignedTenant(badSig, "acme", trusted), SignatureError);
  const byEve = writeSignedTenant(acme, eve, trusted).text;
  assert.throws(
    () => readSignedTenant(byEve, "acme", trusted),
    (e: unknown) => e instanceof SignatureError && e.message.includes(eve.publicKey) && /not a trusted/.test(e.message),
  );
  assert.throws(() => readSignedTenant(encodeTenant(acme), "acme", trusted), /unsigned value/);
  assert.throws(() => readSignedTenant("not json", "acme", trusted), /not a signed value/);
  // Replayed under another tenant's key (the signature covers the key) or signed for a tenant of another id.
  assert.throws(() => readSignedTenant(text, "mallory", trusted), /does not match the value/);
  const misplaced = signValue(encodeTenant(acme), { bucket: TENANT_BUCKET, key: "mallory" }, ana);
  assert.throws(() => readSignedTenant(misplaced, "mallory", trusted), /under key mallory but for tenant acme/);
  // A signed but invalid tenant is refused naming the field.
  const invalid = signValue(
    encodeTenant(create(TenantSchema, { ...acme, allowedModels: [] })),
    { bucket: TENANT_BUCKET, key: "acme" },
    ana,
  );
  assert.throws(() => readSignedTenant(invalid, "acme", trusted), KvValueError);
});

test("a refusal's reason names the problem but never a key's hash", () => {
  const hash = Buffer.from(k.secretSha256).toString("base64");
  const reason = refusalReason(new KvValueError(`tenant: cannot decode field secretSha256 from JSON: "${hash}"`));
  assert.match(reason, /cannot decode field secretSha256/);
  assert.ok(!reason.includes(hash.slice(0, 20)), reason);
  const byEve = writeSignedTenant(acme, eve, trusted).text;
  try {
    readSignedTenant(byEve, "acme", trusted);
    assert.fail("accepted");
  } catch (err) {
    assert.match(refusalReason(err), new RegExp(eve.publicKey));
  }
});
