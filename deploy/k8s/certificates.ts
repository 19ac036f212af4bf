import { CustomObject, field, isInt, isObject, isString, isStrings, oneOf, ShapeError } from "./custom-resources.js";
import { NAMESPACE, type ServiceSpec } from "./mesh-spec.js";
import { secretNames } from "./workloads.js";

/** The mesh's own CA: a self-signed root (Issuer `scoremesh-selfsigned`), kept in the secret `scoremesh-ca`. */
export const CA_ISSUER = "scoremesh-ca";
const SELF_SIGNED = "scoremesh-selfsigned";

const USAGES = [
  "digital signature",
  "key encipherment",
  "server auth",
  "client auth",
  "cert sign",
  "crl sign",
] as const;
const ISSUER_KINDS = ["selfSigned", "ca", "acme", "vault", "venafi"] as const;

const labels = { "app.kubernetes.io/part-of": "scoremesh", "app.kubernetes.io/component": "tls" };

function issuer(name: string, spec: Record<string, unknown>): CustomObject {
  return new CustomObject("cert-manager.io/v1", "Issuer", { name, labels }, spec, checkIssuer);
}

function certificate(name: string, spec: Record<string, unknown>): CustomObject {
  return new CustomObject("cert-manager.io/v1", "Certificate", { name, labels }, spec, checkCertificate);
}

/** ECDSA P-256 like the development certificates; a new key at every renewal. */
const privateKey = { algorithm: "ECDSA", size: 256, rotationPolicy: "Always" };

/**
 * cert-manager objects for the mesh's mutual TLS: a self-signed Issuer that signs the mesh's CA certificate
 * (10 years), a CA Issuer, and one Certificate per service writing `scoremesh-tls-<service>` with the keys the pods
 * mount (`ca.crt`, `tls.crt`, `tls.key`): server and client auth, SANs `<service>` and `<service>-headless` (and
 * their namespace-qualified names), 90 days, renewed 15 days before. The services read their certificate at start:
 * a renewed one takes effect at the next rollout (`kubectl rollout restart`), well within the 15 days.
 * meshctl's client certificate (client auth only) is `scoremesh-tls-meshctl`.
 */
export function certificatesOf(mesh: readonly ServiceSpec[]): CustomObject[] {
  const ca = certificate(CA_ISSUER, {
    isCA: true,
    commonName: "scoremesh CA",
    secretName: CA_ISSUER,
    duration: "87600h",
    // The CA keeps its key when renewed: certificates it signed stay trusted.
    privateKey: { ...privateKey, rotationPolicy: "Never" },
    issuerRef: { name: SELF_SIGNED, kind: "Issuer", group: "cert-manager.io" },
  });
  const leaf = (name: string, dnsNames: string[], usages: string[]) =>
    certificate(`scoremesh-${name}`, {
      secretName: secretNames(name).tls,
      commonName: name,
      ...(dnsNames.length ? { dnsNames } : {}),
      duration: "2160h",
      renewBefore: "360h",
      privateKey,
      usages,
      issuerRef: { name: CA_ISSUER, kind: "Issuer", group: "cert-manager.io" },
    });
  const names = (svc: string) =>
    [svc, `${svc}-headless`].flatMap((n) => [n, `${n}.${NAMESPACE}.svc`, `${n}.${NAMESPACE}.svc.cluster.local`]);
  return [
    issuer(SELF_SIGNED, { selfSigned: {} }),
    ca,
    issuer(CA_ISSUER, { ca: { secretName: CA_ISSUER } }),
    ...mesh.map((s) =>
      leaf(s.name, names(s.name), ["digital signature", "key encipherment", "server auth", "client auth"]),
    ),
    leaf("meshctl", [], ["digital signature", "client auth"]),
  ];
}

/** The Issuer fields we set (cert-manager.io/v1): exactly one kind of issuer; a CA issuer names its secret. */
export function checkIssuer(s: Record<string, unknown>): void {
  const kinds = Object.keys(s).filter((k) => (ISSUER_KINDS as readonly string[]).includes(k));
  if (kinds.length !== 1)
    throw new ShapeError(`an Issuer has exactly one of ${ISSUER_KINDS.join(", ")}, got ${Object.keys(s).join(", ")}`);
  field(s, kinds[0]!, isObject, "the issuer's settings");
  if (kinds[0] === "ca") field(s, "ca.secretName", isString, "the CA's secret");
}

/** The Certificate fields we set (cert-manager.io/v1). */
export function checkCertificate(s: Record<string, unknown>): void {
  field(s, "secretName", isString, "the secret to write");
  field(s, "issuerRef.name", isString, "an issuer");
  field(s, "issuerRef.kind", oneOf("Issuer", "ClusterIssuer"), "Issuer or ClusterIssuer");
  if (s["dnsNames"] === undefined) field(s, "commonName", isString, "a commonName when there are no dnsNames");
  else field(s, "dnsNames", isStrings, "DNS names");
  for (const k of ["duration", "renewBefore"])
    if (s[k] !== undefined)
      field(s, k, (v): v is string => typeof v === "string" && /^\d+h$/.test(v), "hours, e.g. 2160h");
  if (s["usages"] !== undefined)
    field(
      s,
      "usages",
      (v): v is string[] => isStrings(v) && v.every(oneOf(...USAGES)),
      `usages among ${USAGES.join(", ")}`,
    );
  field(s, "privateKey.algorithm", oneOf("RSA", "ECDSA", "Ed25519"), "RSA, ECDSA or Ed25519");
  field(s, "privateKey.size", isInt, "a key size");
  field(s, "privateKey.rotationPolicy", oneOf("Never", "Always"), "Never or Always");
}
