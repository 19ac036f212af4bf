import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { checkTlsMaterial } from "../../services/lib/rpc/index.js";

/** A certificate and its key, as file paths. */
export interface Identity {
  cert: string;
  key: string;
}

/** The development PKI under `<state>/tls/`: the CA, one identity per service, and one for external tools. */
export interface DevCerts {
  dir: string;
  /** ca.pem: the CA every process trusts (its key, ca-key.pem, stays in the folder to issue more). */
  ca: string;
  /** `<name>.pem` / `<name>-key.pem`, valid for server and client auth, SAN DNS:<name>, DNS:localhost, IP:127.0.0.1. */
  services: Record<string, Identity>;
  /** client.pem / client-key.pem: client auth only, for meshctl, grpcurl, tests and other tools. */
  client: Identity;
}

/** A certificate is re-issued when it expires within this: a mesh started today keeps working for a while. */
const RENEW_BEFORE_MS = 7 * 24 * 3600 * 1000;
const P256 = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-noenc"];

export const OPENSSL_HINT =
  "the development certificates are made with the openssl command (Debian/Ubuntu: apt-get install openssl)";

function openssl(args: string[]): void {
  const r = spawnSync("openssl", args, { encoding: "utf8" });
  if (r.error) throw new Error(`cannot run openssl (${r.error.message}): ${OPENSSL_HINT}`, { cause: r.error });
  if (r.status !== 0) throw new Error(`openssl ${args[0]} failed (exit ${r.status}): ${r.stderr.trim()}`);
}

/** Whether `cert` and `key` exist, were issued by `ca` and stay valid for a while (checkTlsMaterial). */
function usable(ca: string, id: Identity): boolean {
  if (![ca, id.cert, id.key].every((f) => existsSync(f))) return false;
  try {
    const m = { ca: readFileSync(ca), cert: readFileSync(id.cert), key: readFileSync(id.key) };
    checkTlsMaterial(m, new Date(Date.now() + RENEW_BEFORE_MS));
    return true;
  } catch {
    return false;
  }
}

function newCa(dir: string): Identity {
  const id = { cert: join(dir, "ca.pem"), key: join(dir, "ca-key.pem") };
  openssl(
    ["req", "-x509", ...P256, "-keyout", id.key, "-out", id.cert, "-days", "3650"].concat(
      ["-subj", "/CN=scoremesh development CA", "-addext", "basicConstraints=critical,CA:TRUE"],
      ["-addext", "keyUsage=critical,keyCertSign,cRLSign"],
    ),
  );
  chmodSync(id.key, 0o600);
  return id;
}

/** Issues `<name>.pem` and `<name>-key.pem` signed by the CA, with the given X.509 v3 extensions. */
function issue(dir: string, ca: Identity, name: string, extensions: string[]): Identity {
  const id = { cert: join(dir, `${name}.pem`), key: join(dir, `${name}-key.pem`) };
  const csr = join(dir, `${name}.csr`);
  const ext = join(dir, `${name}.ext`);
  writeFileSync(ext, extensions.join("\n") + "\n");
  try {
    openssl(["req", "-new", ...P256, "-keyout", id.key, "-out", csr, "-subj", `/CN=${name}`]);
    chmodSync(id.key, 0o600);
    const serial = "0x" + ((randomBytes(1)[0]! & 0x7f) | 0x10).toString(16) + randomBytes(15).toString("hex");
    openssl(
      ["x509", "-req", "-in", csr, "-CA", ca.cert, "-CAkey", ca.key, "-set_serial", serial].concat([
        "-days",
        "825",
        "-sha256",
        "-extfile",
        ext,
        "-out",
        id.cert,
      ]),
    );
  } finally {
    rmSync(csr, { force: true });
    rmSync(ext, { force: true });
  }
  return id;
}

function serviceExtensions(name: string): string[] {
  return [
    "basicConstraints=CA:FALSE",
    "keyUsage=critical,digitalSignature",
    "extendedKeyUsage=serverAuth,clientAuth",
    `subjectAltName=DNS:${name},DNS:localhost,IP:127.0.0.1`,
  ];
}

const CLIENT_EXTENSIONS = [
  "basicConstraints=CA:FALSE",
  "keyUsage=critical,digitalSignature",
  "extendedKeyUsage=clientAuth",
];

/**
 * The development CA and certificates in `dir` (ECDSA P-256, made with the openssl CLI): what is there and still
 * valid is kept, the rest is issued. A CA that is missing or about to expire is replaced, and every certificate
 * with it. For local development and tests only: the CA's key sits beside the certificates.
 *
 * @example
 *   const certs = ensureDevCerts(".scoremesh/tls", ["router", "model-worker"]);
 *   // certs.ca, certs.services.router.cert, certs.client.key, ...
 */
export function ensureDevCerts(dir: string, names: readonly string[]): DevCerts {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  let ca: Identity = { cert: join(dir, "ca.pem"), key: join(dir, "ca-key.pem") };
  if (!usableCa(ca)) ca = newCa(dir);
  const ensure = (name: string, extensions: string[]): Identity => {
    const id = { cert: join(dir, `${name}.pem`), key: join(dir, `${name}-key.pem`) };
    return usable(ca.cert, id) ? id : issue(dir, ca, name, extensions);
  };
  const services: Record<string, Identity> = {};
  for (const name of names) services[name] = ensure(name, serviceExtensions(name));
  return { dir, ca: ca.cert, services, client: ensure("client", CLIENT_EXTENSIONS) };
}

/** The CA is usable when its certificate is valid for a while and its key is its own (a self-issued identity). */
function usableCa(ca: Identity): boolean {
  return usable(ca.cert, ca);
}

/** The TLS variables of a mesh: `env` for every process (the client identity), `serviceEnv` a service's own. */
export interface MeshTlsEnv {
  env: Record<string, string>;
  serviceEnv(service: string): Record<string, string>;
}

/**
 * The TLS_* variables the launcher gives the services: with `mtls`, the development certificates under
 * `<stateDir>/tls/` (made once, see ensureDevCerts), each service its own identity, and in `env` (what meshctl
 * and the tests read) the client identity; with `off`, TLS_MODE=off.
 */
export function devTlsEnv(stateDir: string, mode: "mtls" | "off", services: readonly string[]): MeshTlsEnv {
  if (mode === "off") return { env: { TLS_MODE: "off" }, serviceEnv: () => ({}) };
  const certs = ensureDevCerts(join(stateDir, "tls"), services);
  return {
    env: { TLS_MODE: "mtls", TLS_CA_FILE: certs.ca, TLS_CERT_FILE: certs.client.cert, TLS_KEY_FILE: certs.client.key },
    serviceEnv: (s): Record<string, string> => {
      const id = certs.services[s];
      return id ? { TLS_CERT_FILE: id.cert, TLS_KEY_FILE: id.key } : {};
    },
  };
}
