import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { ensureDevCerts } from "../../../../deploy/local/dev-certs.js";

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), "scoremesh-dev-certs-"));
});
after(() => rmSync(dir, { recursive: true, force: true }));

const cert = (path: string) => new X509Certificate(readFileSync(path));

test("a CA, a P-256 identity per service for server and client auth, and a client identity", () => {
  const c = ensureDevCerts(join(dir, "a"), ["router", "model-worker"]);
  const ca = cert(c.ca);
  assert.equal(ca.ca, true);
  for (const [name, id] of Object.entries(c.services)) {
    const x = cert(id.cert);
    assert.ok(x.verify(ca.publicKey), `${name} signed by the CA`);
    assert.equal(x.subjectAltName, `DNS:${name}, DNS:localhost, IP Address:127.0.0.1`);
    assert.deepEqual(x.keyUsage?.sort(), ["1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2"], "serverAuth and clientAuth");
    assert.equal(x.publicKey.asymmetricKeyDetails?.namedCurve, "prime256v1");
    assert.equal(statSync(id.key).mode & 0o077, 0, `${name}'s key is private to its owner`);
  }
  const client = cert(c.client.cert);
  assert.deepEqual(client.keyUsage, ["1.3.6.1.5.5.7.3.2"], "clientAuth only");
  assert.equal(client.subjectAltName, undefined);
});

test("reused when present and valid; a broken certificate is re-issued by the same CA; a new CA re-issues all", () => {
  const d = join(dir, "b");
  const first = ensureDevCerts(d, ["router"]);
  const pem = (p: string) => readFileSync(p, "utf8");
  const before = { ca: pem(first.ca), router: pem(first.services["router"]!.cert), client: pem(first.client.cert) };
  ensureDevCerts(d, ["router"]);
  assert.equal(pem(first.ca), before.ca, "CA kept");
  assert.equal(pem(first.services["router"]!.cert), before.router, "router's certificate kept");

  writeFileSync(first.services["router"]!.cert, "broken");
  ensureDevCerts(d, ["router"]);
  assert.equal(pem(first.ca), before.ca, "CA still kept");
  assert.notEqual(pem(first.services["router"]!.cert), before.router, "router's certificate re-issued");
  assert.equal(pem(first.client.cert), before.client, "client certificate kept");

  rmSync(first.ca);
  ensureDevCerts(d, ["router"]);
  assert.notEqual(pem(first.ca), before.ca, "new CA");
  assert.ok(cert(first.client.cert).verify(cert(first.ca).publicKey), "the client certificate re-issued by it");
});
