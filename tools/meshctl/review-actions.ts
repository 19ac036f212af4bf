import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { ConnectError, createClient } from "@connectrpc/connect";
import {
  MonitorService,
  ReviewAction_Kind,
  ReviewActionSchema,
  ReviewCaseSchema,
  type ReviewCase,
} from "../../gen/scoremesh/monitor/v1/monitor_pb.js";
import { Decision } from "../../gen/scoremesh/scoring/v1/scoring_pb.js";
import { createGrpcTransport } from "../../services/lib/rpc/index.js";
import { signAction } from "../../services/monitor/reviews/action-signing.js";
import { CliError, messageJson, printJson, type Output } from "./output.js";
import { caseLine } from "./reviews.js";
import type { MeshTarget } from "./target.js";

const USAGE =
  "usage: meshctl reviews claim <case-id> | meshctl reviews resolve <case-id> --decision approve|decline --note TEXT";

/**
 * `meshctl reviews claim ID` and `meshctl reviews resolve ID --decision approve|decline --note TEXT`: the action,
 * signed with the operator's key (SCOREMESH_OPERATOR_KEY_FILE: that is the reviewer), sent to the monitor.
 */
export async function reviewAction(
  target: MeshTarget,
  rest: string[],
  values: { decision?: string; note?: string },
  out: Output,
): Promise<void> {
  const [sub, caseId, ...extra] = rest;
  if (extra.length > 0 || caseId === undefined) throw new CliError(USAGE, 2);
  const action = create(ReviewActionSchema, { caseId, at: timestampFromMs(Date.now()) });
  if (sub === "claim") action.kind = ReviewAction_Kind.CLAIM;
  else if (sub === "resolve") {
    action.kind = ReviewAction_Kind.RESOLVE;
    action.decision = parseDecision(values.decision);
    if (!values.note?.trim()) throw new CliError(`--note is required: why the case is decided so\n${USAGE}`, 2);
    action.note = values.note;
  } else throw new CliError(USAGE, 2);
  const signedAction = signAction(action, target.operatorSigner());
  const c = await send(target, sub, signedAction);
  if (out.json) return printJson(messageJson(ReviewCaseSchema, c));
  console.log(`${sub === "claim" ? "claimed" : "resolved"} case ${c.caseId}:`);
  console.log(caseLine(c, Date.now()));
  if (c.note) console.log(`  note: ${c.note}`);
}

function parseDecision(raw: string | undefined): Decision {
  if (raw === "approve") return Decision.APPROVE;
  if (raw === "decline") return Decision.DECLINE;
  throw new CliError(`--decision must be approve or decline, got ${raw ?? "nothing"}\n${USAGE}`, 2);
}

async function send(target: MeshTarget, sub: string, signedAction: string): Promise<ReviewCase> {
  const t = createGrpcTransport({ address: target.monitor(), credentials: target.credentials() });
  try {
    const client = createClient(MonitorService, t);
    const r =
      sub === "claim"
        ? await client.claimReview({ signedAction }, { timeoutMs: 10_000 })
        : await client.resolveReview({ signedAction }, { timeoutMs: 10_000 });
    return r.reviewCase!;
  } catch (err) {
    const e = ConnectError.from(err);
    throw new CliError(`${sub} refused by the monitor at ${t.address}: ${e.rawMessage}`);
  } finally {
    t.close();
  }
}
