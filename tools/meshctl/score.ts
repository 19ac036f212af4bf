import { readFileSync } from "node:fs";
import { fromJson, type JsonValue } from "@bufbuild/protobuf";
import { ConnectError, createClient } from "@connectrpc/connect";
import {
  Decision,
  Route,
  ScoreRequestSchema,
  ScoreResponseSchema,
  ScoringService,
  type ScoreResponse,
} from "../../gen/scoremesh/scoring/v1/scoring_pb.js";
import { createGrpcTransport, fieldViolations, withBearer } from "../../services/lib/rpc/index.js";
import { CliError, messageJson, printJson, type Output } from "./output.js";
import type { MeshTarget } from "./target.js";

/**
 * The request text of `score`, curl's way: `--data '{...}'`, `--data @file.json`, `--data @-` (stdin). The old
 * `--file F` still works, with a deprecation line on stderr.
 */
export function scoreInput(data: string | undefined, file: string | undefined): string {
  if (file !== undefined) {
    console.error(`meshctl: --file is deprecated; use --data @${file}`);
    if (data === undefined) data = `@${file}`;
  }
  if (data === undefined)
    throw new CliError("score needs its ScoreRequest: --data @file.json, --data '{...}' or --data @- (stdin)", 2);
  if (!data.startsWith("@")) return data;
  const path = data.slice(1);
  try {
    return readFileSync(path === "-" ? 0 : path, "utf8");
  } catch (err) {
    throw new CliError(`cannot read ${path === "-" ? "stdin" : path}: ${(err as Error).message}`, 2);
  }
}

/** `meshctl score --data ...`: one ScoreRequest through the public gRPC API. */
export async function score(target: MeshTarget, text: string, out: Output): Promise<void> {
  let json: JsonValue;
  try {
    json = JSON.parse(text) as JsonValue;
  } catch (err) {
    throw new CliError(`the request is not JSON: ${(err as Error).message}`, 2);
  }
  const req = fromJson(ScoreRequestSchema, json);
  const t = withBearer(
    createGrpcTransport({ address: target.validator(), credentials: target.edgeCredentials() }),
    target.apiKey(),
  );
  try {
    const res = await createClient(ScoringService, t).score(req, { timeoutMs: 5000 });
    if (out.json) printJson(messageJson(ScoreResponseSchema, res));
    else printScore(res);
  } catch (err) {
    const ce = ConnectError.from(err);
    const details = fieldViolations(ce).map((v) => `\n  ${v.field}: ${v.description} [${v.reason}]`);
    throw new CliError(`${ce.message}${details.join("")}`);
  } finally {
    t.close();
  }
}

function printScore(r: ScoreResponse): void {
  const route = (Route[r.route] ?? String(r.route)).toLowerCase();
  console.log(
    `${Decision[r.decision] ?? r.decision}  score ${r.score.toFixed(4)}  ${r.model} v${r.modelVersion}  route ${route}${r.degraded ? " (degraded)" : ""}`,
  );
  if (r.reasons.length)
    console.log(
      `reasons: ${r.reasons.map((x) => `${x.code}${x.feature ? ` (${x.feature} ${x.contribution >= 0 ? "+" : ""}${x.contribution.toFixed(3)})` : ""}`).join(", ")}`,
    );
  if (r.imputedFeatures.length) console.log(`imputed: ${r.imputedFeatures.join(", ")}`);
  console.log(`request ${r.requestId}  trace ${r.traceId}`);
}
