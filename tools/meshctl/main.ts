import { parseArgs } from "node:util";
import { auditCommand } from "./audit.js";
import { CliError, type Output } from "./output.js";
import { policy, seedPolicies, setChampion } from "./policy.js";
import { reviews } from "./reviews.js";
import { canary, promote, rollback } from "./rollout.js";
import { rollout } from "./rollout-auto.js";
import { policyHistory } from "./policy-history.js";
import { setShadow, shadowOff, shadowStatus } from "./shadow.js";
import { score, scoreInput } from "./score.js";
import { status } from "./status.js";
import { MeshTarget } from "./target.js";
import { tenantCommand } from "./tenant-command.js";

const USAGE = `meshctl: operate a scoremesh mesh

usage: npm run meshctl -- <command> [options] [--json] [--state-dir DIR]

commands:
  status                          health of every service, serving policies, loaded versions, decision counts
                                  (exits 1 when a service is not SERVING or a part cannot be read)
  policy <model>                  the serving policy of a model (champion, canary)
  policy <model> --history        every change of the policy: when, who, what, why, the checks at the time
  set-champion <model> <version>  make <version> the champion of <model> (routers switch once workers have it ready),
                                  signed with your operator key; refused unless a model worker has it ready
  canary <model> <version> --percent P
                                  send P % of <model>'s traffic (sticky by entity id) to <version> next to the champion
  rollout <model> <version> [--steps 5,25,50,100] [--hold 60s | --hold-decisions N] [--min-sample N]
                                  automated canary analysis: the monitor raises the canary step by step while it
                                  compares it with the champion, promotes it after the last step or rolls it back
                                  at the first breach; prints each step and check (Ctrl-C: the rollout runs on)
  promote <model>                 the canary becomes the champion and serves all traffic
  rollback <model>                remove the canary: every router sends all traffic to the champion at once
  shadow <model> <version> --sample R
                                  <version> also scores a sticky share R (0..1] of the champion's rows off the hot
                                  path; each pair (score difference, decision agreement) goes to the monitor
  shadow <model> --off            remove the shadow
  shadow <model>                  the shadow and the monitor's pairs of it
                                  (policy writes are compare-and-set: a concurrent change makes them fail, exit 1)
  seed-policies                   give every model without a serving policy its seed version, and sign unsigned
                                  policies of older builds (npm start does this at start)
  score -d, --data <request>      score one ScoreRequest through the public gRPC API; <request> is curl-style:
                                  @file.json (e.g. @deploy/local/example-request.json), '{...}', or @- for stdin
  reviews [--limit N] [--model M] the monitor's review queue (decisions REVIEW), newest first; N defaults to 20
  tenant create NAME [--models a,b] [--rate R] [--burst B] [--daily-quota Q] [--max-batch N]
                                  a tenant and its API key, printed once (defaults: every model "*", 50 rows/s,
                                  burst 2 × rate, no daily quota, the validator's batch limit); with
                                  --replace-refused, also over a value validators refuse (unsigned, forged)
  tenant list | show NAME         tenants, their limits and key ids
  tenant revoke NAME              refuse every key of the tenant (every validator, within about a second)
  tenant rotate NAME [--grace S]  a new key, printed once; the old ones revoked now, or valid S seconds more
  tenant usage NAME               today's (UTC) calls, rows, refusals by reason and quota left
  audit show REQUEST_ID           the audit record of a decision (from the SCOREMESH_AUDIT stream)
  audit verify [--since T]        walk the audit chains and signed checkpoints; names every record altered,
                                  removed or inserted (exits 1 then); T: ISO time or a duration (15m, 2h, 7d)

options:
  --json            print JSON (every command) instead of text for people
  --state-dir DIR   the folder of the npm start to talk to (default .scoremesh; npm start -- --state-dir DIR)

Where the mesh is: the variables the services read, where set (VALIDATOR_GRPC_ADDR, FEATURE_ADDR, ROUTER_ADDR,
WORKER_ADDR, MONITOR_ADDR, NATS_URL, MODEL_REPOSITORY), else the running npm start's DIR/mesh.json.
Who you are: NATS_NKEY_SEED_FILE (the control identity), SCOREMESH_OPERATOR_KEY_FILE (your signing key) and
SCOREMESH_TRUSTED_OPERATORS_FILE, SCOREMESH_AUDIT_PUBLIC_KEY_FILE (audit verify), else npm start's (DIR/nats/identities/control.nk, DIR/operators/<user>.nk,
DIR/operators.json, DIR/audit/signing-key.pub.pem).
The API key of score: SCOREMESH_API_KEY, else DIR/dev-api-key (the development tenant npm start makes).
Exit codes: 0 done, 1 failed (unreachable, refused, not serving), 2 bad usage or configuration.`;

const OPTIONS = {
  burst: { type: "string" },
  data: { type: "string", short: "d" },
  "daily-quota": { type: "string" },
  grace: { type: "string" },
  "max-batch": { type: "string" },
  models: { type: "string" },
  rate: { type: "string" },
  "replace-refused": { type: "boolean" },
  since: { type: "string" },
  file: { type: "string" },
  json: { type: "boolean" },
  limit: { type: "string" },
  percent: { type: "string" },
  steps: { type: "string" },
  hold: { type: "string" },
  "hold-decisions": { type: "string" },
  "min-sample": { type: "string" },
  history: { type: "boolean" },
  sample: { type: "string" },
  off: { type: "boolean" },
  model: { type: "string" },
  "state-dir": { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

function parse() {
  try {
    return parseArgs({ allowPositionals: true, options: OPTIONS });
  } catch (err) {
    throw new CliError(`${(err as Error).message}\n\n${USAGE}`, 2);
  }
}

/** The command's positional arguments, exactly `names` of them, or a usage error. */
function args(cmd: string, given: string[], names: string[], hint = ""): string[] {
  if (given.length !== names.length)
    throw new CliError(`usage: meshctl ${[cmd, ...names.map((n) => `<${n}>`)].join(" ")}${hint}`, 2);
  return given;
}

async function main(): Promise<void> {
  const { positionals, values } = parse();
  const [cmd, ...rest] = positionals;
  const out = { json: values.json === true };
  const target = () => new MeshTarget(values["state-dir"]);
  switch (values.help ? "help" : cmd) {
    case "status":
      return status(target(), out);
    case "policy": {
      const [model] = args("policy", rest, ["model"], " [--history]");
      return values.history ? policyHistory(target(), model!, out) : policy(target(), model!, out);
    }
    case "rollout": {
      const [model, version] = args(
        "rollout",
        rest,
        ["model", "version"],
        " [--steps …] [--hold 60s | --hold-decisions N]",
      );
      const opts = {
        steps: values.steps,
        hold: values.hold,
        holdDecisions: values["hold-decisions"],
        minSample: values["min-sample"],
      };
      return rollout(target(), model!, version!, opts, out);
    }
    case "set-champion": {
      const [model, version] = args("set-champion", rest, ["model", "version"]);
      return setChampion(target(), model!, version!, out);
    }
    case "canary": {
      const [model, version] = args("canary", rest, ["model", "version"], " --percent P");
      if (values.percent === undefined) throw new CliError("usage: meshctl canary <model> <version> --percent P", 2);
      return canary(target(), model!, version!, values.percent, out);
    }
    case "promote":
      return promote(target(), args("promote", rest, ["model"])[0]!, out);
    case "rollback":
      return rollback(target(), args("rollback", rest, ["model"])[0]!, out);
    case "shadow":
      return shadowCommand(target(), rest, values, out);
    case "seed-policies":
      args("seed-policies", rest, []);
      return seedPolicies(target(), out);
    case "score":
      // `score --json '{...}'` took its input under --json before --json meant "print JSON".
      args(
        "score",
        rest,
        [],
        " takes its request under -d/--data: --data @file.json, --data '{...}' or --data @- (--json prints JSON)",
      );
      return score(target(), scoreInput(values.data, values.file), out);
    case "reviews": {
      const limit = Number(values.limit ?? "20");
      if (!Number.isInteger(limit) || limit < 1 || limit > 1_000_000)
        throw new CliError(`--limit must be an integer in [1, 1000000], got ${values.limit}`, 2);
      return reviews(target(), limit, values.model, out);
    }
    case "tenant":
      return tenantCommand(target(), rest, values, out);
    case "audit":
      return auditCommand(target(), rest, values, out);
    case undefined:
    case "help":
      console.log(USAGE);
      return;
    default:
      throw new CliError(`unknown command ${JSON.stringify(cmd)}\n\n${USAGE}`, 2);
  }
}

/** `meshctl shadow MODEL VERSION --sample R`, `shadow MODEL --off`, `shadow MODEL` (status). */
function shadowCommand(target: MeshTarget, rest: string[], values: { sample?: string; off?: boolean }, out: Output) {
  const usage = "usage: meshctl shadow <model> <version> --sample R | meshctl shadow <model> [--off]";
  if (rest.length === 2 && values.sample !== undefined && !values.off)
    return setShadow(target, rest[0]!, rest[1]!, values.sample, out);
  if (rest.length === 1 && values.sample === undefined)
    return values.off ? shadowOff(target, rest[0]!, out) : shadowStatus(target, rest[0]!, out);
  throw new CliError(usage, 2);
}

main().catch((err: Error) => {
  console.error(`meshctl: ${err.message}`);
  process.exitCode = err instanceof CliError ? err.exitCode : 1;
});
