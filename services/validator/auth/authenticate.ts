import { parseApiKey, secretMatches } from "../../lib/nats/index.js";
import { refuse } from "./refusals.js";
import type { KeyEntry, TenantDirectory } from "./tenant-directory.js";

/** A key that has the right shape and a known id but is not (or no longer) valid: counted against its tenant. */
export class KeyRefused extends Error {
  override readonly name = "KeyRefused";
  constructor(
    readonly tenantId: string,
    readonly error: Error,
  ) {
    super(error.message);
  }
}

/**
 * The tenant of a call from its `authorization` header ("Bearer sm_<key_id>_<secret>"). Throws UNAUTHENTICATED
 * (a ConnectError) when the header is missing or malformed or the key unknown, and `KeyRefused` (wrapping one)
 * when the key id is known but the secret is wrong or the key expired. The secret is compared in constant time;
 * no message names more than the key id.
 */
export function authenticate(authorization: string | null, directory: TenantDirectory, nowMs: number): KeyEntry {
  if (!authorization) throw refuse.unauthenticated("no API key");
  const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
  if (!m) throw refuse.unauthenticated('the authorization header is not "Bearer <API key>"');
  const parsed = parseApiKey(m[1]!);
  if (!parsed) throw refuse.unauthenticated("the API key is malformed");
  const entry = directory.find(parsed.keyId);
  if (!entry) throw refuse.unauthenticated(`API key ${parsed.keyId} is unknown or revoked`);
  if (!secretMatches(parsed.secret, entry.key.secretSha256))
    throw new KeyRefused(entry.tenant.id, refuse.unauthenticated(`API key ${parsed.keyId} is not valid`));
  const exp = entry.key.expiresAt;
  if (exp && Number(exp.seconds) * 1000 + exp.nanos / 1e6 <= nowMs)
    throw new KeyRefused(entry.tenant.id, refuse.unauthenticated(`API key ${parsed.keyId} has expired`));
  return entry;
}
