import { toJson, type DescMessage, type JsonValue, type MessageShape } from "@bufbuild/protobuf";

/** A failure meshctl reports on stderr as one clear message, exiting `exitCode` (1: it failed, 2: bad usage). */
export class CliError extends Error {
  override name = "CliError";
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

/** How a command prints: for people (the default) or as JSON (`--json`, for scripts). */
export interface Output {
  json: boolean;
}

/** Prints `value` as indented JSON on stdout (what every command prints with --json). */
export function printJson(value: unknown): void {
  console.log(JSON.stringify(value, (_, v: unknown) => (typeof v === "bigint" ? v.toString() : v), 2));
}

/** A message as protobuf JSON with every field, defaults included, so that a script finds each key it expects. */
export function messageJson<Desc extends DescMessage>(schema: Desc, message: MessageShape<Desc>): JsonValue {
  return toJson(schema, message, { alwaysEmitImplicit: true });
}
