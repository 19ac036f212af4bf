import { nkeys } from "./nkeys.js";

/** The operators whose signatures readers accept: public key (an operator nkey, "O...") → operator name. */
export type TrustedOperators = ReadonlyMap<string, string>;

/** A trusted-operators file that cannot be used: not JSON, or an entry without a name or with a bad key. */
export class TrustedOperatorsError extends Error {
  override readonly name = "TrustedOperatorsError";
}

/** What the launcher writes to `.scoremesh/operators.json` and readers load once at start. */
export interface TrustedOperatorsFile {
  operators: { name: string; publicKey: string }[];
}

/**
 * The trusted operators in a file's text (`{"operators":[{"name":"ana","publicKey":"O..."}]}`); throws
 * `TrustedOperatorsError` naming the bad entry. A key listed twice, or two names for one key, is refused.
 *
 * @example
 *   const trusted = parseTrustedOperators(readFileSync(".scoremesh/operators.json", "utf8"));
 *   trusted.get("OAB...") // "ana"
 */
export function parseTrustedOperators(text: string): TrustedOperators {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new TrustedOperatorsError(`not JSON (${String(err)})`);
  }
  const list = (json as Partial<TrustedOperatorsFile> | null)?.operators;
  if (!Array.isArray(list)) throw new TrustedOperatorsError('must be {"operators": [{"name", "publicKey"}, ...]}');
  const out = new Map<string, string>();
  list.forEach((entry: unknown, i) => {
    const { name, publicKey } = (entry ?? {}) as Record<string, unknown>;
    if (typeof name !== "string" || !/^[A-Za-z0-9._@-]{1,64}$/.test(name))
      throw new TrustedOperatorsError(`operators[${i}].name must be 1-64 of A-Z a-z 0-9 . _ @ -`);
    if (typeof publicKey !== "string" || !isOperatorKey(publicKey))
      throw new TrustedOperatorsError(`operators[${i}].publicKey must be an operator nkey (O...)`);
    if (out.has(publicKey)) throw new TrustedOperatorsError(`operators[${i}].publicKey is listed twice`);
    out.set(publicKey, name);
  });
  return out;
}

/** True for a well-formed operator public nkey (prefix O, checksum right). */
export function isOperatorKey(publicKey: string): boolean {
  try {
    return publicKey.startsWith("O") && nkeys.fromPublic(publicKey).getPublicKey() === publicKey;
  } catch {
    return false;
  }
}
