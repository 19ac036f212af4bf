import { createPrivateKey, X509Certificate } from "node:crypto";
import * as grpc from "@grpc/grpc-js";

/** The PEM files of one identity: the CA that signs every peer, and this process's own certificate and key. */
export interface TlsMaterial {
  ca: Buffer;
  cert: Buffer;
  key: Buffer;
}

/** A part of the TLS material that is unusable; `part` says which file ("ca", "cert" or "key"). */
export class TlsMaterialError extends Error {
  override name = "TlsMaterialError";
  constructor(
    readonly part: keyof TlsMaterial,
    message: string,
  ) {
    super(message);
  }
}

function parse(part: "ca" | "cert", pem: Buffer): X509Certificate {
  try {
    return new X509Certificate(pem);
  } catch (err) {
    throw new TlsMaterialError(part, `is not a PEM certificate (${(err as Error).message})`);
  }
}

function checkValidity(part: "ca" | "cert", c: X509Certificate, now: Date): void {
  if (now < new Date(c.validFrom)) throw new TlsMaterialError(part, `is not valid before ${c.validFrom}`);
  if (now > new Date(c.validTo)) throw new TlsMaterialError(part, `expired on ${c.validTo}`);
}

/** Every certificate of a PEM bundle (a CA file may hold several: the old and the new CA while rotating). */
function parseBundle(pem: Buffer): X509Certificate[] {
  const blocks = pem.toString("utf8").match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) throw new TlsMaterialError("ca", "holds no PEM certificate");
  return blocks.map((b) => parse("ca", Buffer.from(b)));
}

/**
 * Checks once, at start, what a TLS handshake would otherwise find later and less clearly: the certificates
 * parse and are valid now, the CA file holds CA certificates (one or more), the certificate was signed by one of
 * them, and the key is the certificate's.
 */
export function checkTlsMaterial(m: TlsMaterial, now = new Date()): void {
  const cas = parseBundle(m.ca);
  const cert = parse("cert", m.cert);
  for (const ca of cas) {
    if (!ca.ca) throw new TlsMaterialError("ca", `is not a CA certificate (${ca.subject.replace(/\n/g, ", ")})`);
    checkValidity("ca", ca, now);
  }
  checkValidity("cert", cert, now);
  if (!cas.some((ca) => cert.verify(ca.publicKey))) throw new TlsMaterialError("cert", "was not signed by the CA");
  let key;
  try {
    key = createPrivateKey(m.key);
  } catch (err) {
    throw new TlsMaterialError("key", `is not a PEM private key (${(err as Error).message})`);
  }
  if (!cert.checkPrivateKey(key)) throw new TlsMaterialError("key", "does not belong to the certificate");
}

/**
 * The credentials of one process in the mesh: mutual TLS from its TlsMaterial, or plaintext when TLS_MODE=off.
 * Servers built with `server()` refuse a peer without a certificate signed by the CA; channels built with
 * `channel()` present this process's certificate and check the server's against the CA and the address dialled.
 *
 * @example
 *   const tls = MeshCredentials.mutual({ ca, cert, key });
 *   server.bindAsync(addr, tls.server(), cb);
 *   createGrpcTransport({ address, credentials: tls.channel() });
 */
export class MeshCredentials {
  private channelCreds?: grpc.ChannelCredentials;

  private constructor(readonly material: TlsMaterial | undefined) {}

  /** Mutual TLS with `material` (checked with checkTlsMaterial first). */
  static mutual(material: TlsMaterial): MeshCredentials {
    checkTlsMaterial(material);
    return new MeshCredentials(material);
  }

  /** Plaintext: only when asked for explicitly (TLS_MODE=off). */
  static plaintext(): MeshCredentials {
    return new MeshCredentials(undefined);
  }

  get mode(): "mtls" | "off" {
    return this.material ? "mtls" : "off";
  }

  /** A server that requires a client certificate signed by the CA. */
  server(): grpc.ServerCredentials {
    const m = this.material;
    if (!m) return grpc.ServerCredentials.createInsecure();
    return grpc.ServerCredentials.createSsl(m.ca, [{ private_key: m.key, cert_chain: m.cert }], true);
  }

  /** A server for clients outside the mesh: TLS with this certificate, no client certificate asked for. */
  edgeServer(): grpc.ServerCredentials {
    const m = this.material;
    if (!m) return grpc.ServerCredentials.createInsecure();
    return grpc.ServerCredentials.createSsl(null, [{ private_key: m.key, cert_chain: m.cert }], false);
  }

  /** Channel credentials presenting this certificate (one object, shared by every channel of the process). */
  channel(): grpc.ChannelCredentials {
    const m = this.material;
    this.channelCreds ??= m ? grpc.credentials.createSsl(m.ca, m.key, m.cert) : grpc.credentials.createInsecure();
    return this.channelCreds;
  }
}

/**
 * Channel options for dialling `address` over TLS: a loopback IP (127.x.x.x, [::1]) is checked as `localhost`
 * (every certificate of the mesh names both), since grpc-js would otherwise send the IP as the TLS server name,
 * which RFC 6066 forbids and Node warns about (DEP0123). Any other address is checked as dialled.
 */
export function tlsChannelOptions(address: string, credentials: grpc.ChannelCredentials): grpc.ChannelOptions {
  // A balanced target checks every replica by the first address's host (they share one certificate name).
  const hostPort = address.replace(/^dns:\/\/\/|^ipv4:/, "").split(",")[0]!;
  const host = hostPort.slice(0, hostPort.lastIndexOf(":"));
  const loopback = /^127\.\d+\.\d+\.\d+$/.test(host) || host === "[::1]";
  return loopback && credentials._isSecure() ? { "grpc.ssl_target_name_override": "localhost" } : {};
}
