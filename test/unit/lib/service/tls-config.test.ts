import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { devTlsEnv, type MeshTlsEnv } from "../../../../deploy/local/dev-certs.js";
import {
  ConfigError,
  EnvReader,
  readEdgeCredentials,
  readHealthAddress,
  readTlsConfig,
} from "../../../../services/lib/service/index.js";
import { readConfig as validatorConfig } from "../../../../services/validator/config.js";
import { PEER_ENV } from "../../../support/peer-env.js";

let dir: string;
let tls: MeshTlsEnv;
let routerEnv: Record<string, string>;

before(() => {
  dir = mkdtempSync(join(tmpdir(), "scoremesh-tls-config-"));
  tls = devTlsEnv(dir, "mtls", ["router"]);
  routerEnv = { ...tls.env, ...tls.serviceEnv("router") };
});
after(() => rmSync(dir, { recursive: true, force: true }));

function configError(env: Record<string, string>, variable: string, pattern: RegExp): void {
  assert.throws(
    () => readTlsConfig(new EnvReader(env)),
    (e: unknown) => e instanceof ConfigError && e.variable === variable && pattern.test(e.message),
    `${variable} ${pattern}`,
  );
}

test("TLS_MODE defaults to mtls: the three files are read and checked", () => {
  assert.equal(readTlsConfig(new EnvReader(routerEnv)).mode, "mtls");
  configError({}, "TLS_CA_FILE", /^TLS_CA_FILE: is required with TLS_MODE=mtls \(the default\)/);
  configError({ TLS_CA_FILE: tls.env["TLS_CA_FILE"]! }, "TLS_CERT_FILE", /is required/);
  configError({ ...routerEnv, TLS_KEY_FILE: join(dir, "missing.pem") }, "TLS_KEY_FILE", /cannot read .*ENOENT/);
});

test("TLS_MODE=off is plaintext; any other value is refused", () => {
  assert.equal(readTlsConfig(new EnvReader({ TLS_MODE: "off" })).mode, "off");
  configError({ TLS_MODE: "tls" }, "TLS_MODE", /must be one of mtls, off/);
});

test("unusable files are refused naming their variable: not PEM, another key, another CA, not a CA", () => {
  const junk = join(dir, "junk.pem");
  writeFileSync(junk, "not a certificate\n");
  configError({ ...routerEnv, TLS_CERT_FILE: junk }, "TLS_CERT_FILE", /is not a PEM certificate/);
  configError({ ...routerEnv, TLS_KEY_FILE: junk }, "TLS_KEY_FILE", /is not a PEM private key/);
  configError({ ...routerEnv, TLS_KEY_FILE: tls.env["TLS_KEY_FILE"]! }, "TLS_KEY_FILE", /does not belong/);
  configError({ ...routerEnv, TLS_CA_FILE: routerEnv["TLS_CERT_FILE"]! }, "TLS_CA_FILE", /is not a CA certificate/);
  const other = devTlsEnv(join(dir, "other"), "mtls", []);
  configError({ ...routerEnv, TLS_CA_FILE: other.env["TLS_CA_FILE"]! }, "TLS_CERT_FILE", /was not signed by the CA/);
});

test("a CA file may hold several CAs (rotation): a certificate signed by any of them is accepted", () => {
  const other = devTlsEnv(join(dir, "other-bundle"), "mtls", []);
  const bundle = join(dir, "bundle.pem");
  writeFileSync(
    bundle,
    readFileSync(other.env["TLS_CA_FILE"]!, "utf8") + readFileSync(tls.env["TLS_CA_FILE"]!, "utf8"),
  );
  assert.equal(readTlsConfig(new EnvReader({ ...routerEnv, TLS_CA_FILE: bundle })).mode, "mtls");
  writeFileSync(bundle, "no certificate here\n");
  configError({ ...routerEnv, TLS_CA_FILE: bundle }, "TLS_CA_FILE", /holds no PEM certificate/);
});

test("<PREFIX>_HEALTH_ADDR is optional and must be host:port", () => {
  assert.equal(readHealthAddress(new EnvReader({}), "ROUTER"), undefined);
  assert.equal(readHealthAddress(new EnvReader({ ROUTER_HEALTH_ADDR: "0.0.0.0:8081" }), "ROUTER"), "0.0.0.0:8081");
  assert.throws(
    () => readHealthAddress(new EnvReader({ ROUTER_HEALTH_ADDR: "8081" }), "ROUTER"),
    (e: unknown) => e instanceof ConfigError && e.variable === "ROUTER_HEALTH_ADDR",
  );
});

test("VALIDATOR_PUBLIC_TLS: off by default; on needs the validator's certificate", () => {
  assert.equal(validatorConfig(new EnvReader(PEER_ENV)).publicTls, false);
  assert.equal(validatorConfig(new EnvReader({ ...PEER_ENV, ...routerEnv, TLS_MODE: "mtls" })).publicTls, false);
  assert.equal(
    validatorConfig(new EnvReader({ ...PEER_ENV, ...routerEnv, TLS_MODE: "mtls", VALIDATOR_PUBLIC_TLS: "on" }))
      .publicTls,
    true,
  );
  assert.throws(
    () => validatorConfig(new EnvReader({ ...PEER_ENV, VALIDATOR_PUBLIC_TLS: "on" })),
    (e: unknown) => e instanceof ConfigError && e.variable === "VALIDATOR_PUBLIC_TLS",
  );
  assert.equal(readEdgeCredentials(new EnvReader({})).mode, "off", "clients dial the edge in plaintext by default");
  assert.equal(readEdgeCredentials(new EnvReader({ ...routerEnv, VALIDATOR_PUBLIC_TLS: "on" })).mode, "mtls");
});
