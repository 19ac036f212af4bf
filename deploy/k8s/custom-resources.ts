/**
 * Objects of custom resources (KEDA, cert-manager) for which kubernetes-models has no schema. Each kind checks its
 * shape against the fields the CRD publishes that we use (keda.sh/v1alpha1 ScaledObject; cert-manager.io/v1
 * Certificate and Issuer): required fields, their types and enumerations. Not the full OpenAPI schema: a field
 * we do not set is not checked.
 */

type Json = Record<string, unknown>;

/** A custom object: apiVersion, kind, metadata and spec, validated by `check` (throws naming the bad field). */
export class CustomObject {
  constructor(
    readonly apiVersion: string,
    readonly kind: string,
    readonly metadata: { name: string; labels?: Record<string, string> },
    readonly spec: Json,
    private readonly check: (spec: Json) => void,
  ) {}

  validate(): void {
    if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(this.metadata.name))
      throw new ShapeError(`${this.kind} metadata.name ${JSON.stringify(this.metadata.name)} is not a DNS label`);
    this.check(this.spec);
  }

  toJSON(): unknown {
    return { apiVersion: this.apiVersion, kind: this.kind, metadata: this.metadata, spec: this.spec };
  }
}

export class ShapeError extends Error {
  override readonly name = "ShapeError";
}

/** The value at `path` (dot-separated) of `o`, checked by `is`; throws naming what was expected and the value. */
export function field<T>(o: Json, path: string, is: (v: unknown) => v is T, what: string): T {
  const v = path.split(".").reduce<unknown>((x, k) => (x as Json | undefined)?.[k], o);
  if (!is(v)) throw new ShapeError(`${path}: expected ${what}, got ${JSON.stringify(v)}`);
  return v;
}

export const isString = (v: unknown): v is string => typeof v === "string" && v.length > 0;
export const isInt = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 0;
export const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);
export const isStrings = (v: unknown): v is string[] => Array.isArray(v) && v.length > 0 && v.every(isString);
export const oneOf =
  <T extends string>(...values: T[]) =>
  (v: unknown): v is T =>
    values.includes(v as T);
