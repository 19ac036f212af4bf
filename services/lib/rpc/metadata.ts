import { Metadata } from "@grpc/grpc-js";

/** grpc-js Metadata -> fetch Headers (binary `-bin` values are skipped; none of ours travel there). */
export function metadataToHeaders(md: Metadata): Headers {
  const h = new Headers();
  for (const [key, values] of Object.entries(md.getMap())) {
    if (typeof values === "string") h.set(key, values);
  }
  return h;
}

/** fetch Headers -> grpc-js Metadata. */
export function headersToMetadata(h: Headers): Metadata {
  const md = new Metadata();
  h.forEach((value, key) => md.set(key, value));
  return md;
}
