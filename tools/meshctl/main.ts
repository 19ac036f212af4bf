import { parseArgs } from "node:util";
import { auditCommand } from "./audit.js";
import { backup, BACKUP_USAGE, restore } from "./backup.js";
import { cascadeOff, setCascade } from "./cascade.js";
import { card } from "./card.js";
import { simulate } from "./simulate.js";
import { CliError, type Output } from "./output.js";
import { policy, seedPolicies, setChampion } from "./policy.js";
import { reviewAction } from "./review-actions.js";
import { publish } from "./publish.js";
import { retire } from "./retire.js";
import { poolOff, poolStatus, setPool } from "./pool.js";
import { reviews } from "./reviews.js";
import { alerts, watchAlerts } from "./alerts.js";
import { cost, outcomes } from "./outcomes.js";
import { canary, promote, rollback } from "./rollout.js";
import { segmentOff, setSegment } from "./segment.js";
import { rollout } from "./rollout-auto.js";
import { policyHistory } from "./policy-history.js";
import { setShadow, shadowOff, shadowStatus } from "./shadow.js";
import { score, scoreInput } from "./score.js";
import { status } from "./status.js";
import { MeshTarget } from "./target.js";
import { tenantCommand } from "./tenant-command.js";
import { drift } from "./drift.js";
import { bootstrap } from "./bootstrap.js";

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
                                  --simulate [--since T] [--limit N]: first print the simulation of <version> on the
                                  recorded decisions (as meshctl simulate), then start the rollout
  promote <model>                 the canary becomes the champion and serves all traffic
  rollback <model>                remove the canary: every router sends all traffic to the champion at once
  shadow <model> <version> --sample R
                                  <version> also scores a sticky share R (0..1] of the champion's rows off the hot
                                  path; each pair (score difference, decision agreement) goes to the monitor
  shadow <model> --off            remove the shadow
  shadow <model>                  the shadow and the monitor's pairs of it
  cascade <model> <light> --band LOW,HIGH
                                  light → heavy: <light> scores the champion's rows first and decides those it scores
                                  outside [LOW, HIGH); the rest go on to the champion (docs/rollouts.md)
  cascade <model> --off           the champion scores every row again
  pool <model> <version> --label L
                                  <version>'s rows go only to the model workers labelled L (WORKER_LABELS, e.g. gpu),
                                  any worker when none of them has it ready; refused unless a live worker labelled L
                                  has it ready
  pool <model> <version> --off    any worker serves <version> again
  pool <model>                    the pool rules and the workers' labels
  segment <model> <name> <version> --where EXPR
                                  rows for which EXPR holds go to <version> (before the canary; first rule wins);
                                  EXPR: conditions joined by "and", each tenant=ID, label.KEY=VALUE (or !=) or
                                  INPUT OP NUMBER (= != < <= > >=), e.g. 'label.channel=branch and LIMIT_BAL>=200000';
                                  rules over SEX, AGE, MARRIAGE (or any sensitive input) are refused
  segment <model> <name> --off    remove the segment rule
                                  (policy writes are compare-and-set: a concurrent change makes them fail, exit 1)
  publish <model> <dir> [--wait S]
                                  upload a version folder (card.json, model.onnx; SHA256SUMS checked when present)
                                  to the model store (NATS): every worker downloads, checks, loads and warms it, no
                                  restart; the version number is the card's. Refused with the reason when the folder
                                  is incomplete, the card malformed, its feature spec not the serving spec, or the
                                  number taken by other bytes. Waits up to S s (default 60, 0: no wait) for a worker
                                  to report it ready
  retire <model> <version>        no policy may point to <version> any more (refused while the champion, canary,
                                  shadow or fallback is it); its files stay for audit replay
  seed-policies                   give every model without a serving policy its seed version, and sign unsigned
                                  policies of older builds (npm start does this at start)
  bootstrap                       create what only the control identity may and the services need: the audit
                                  stream (NATS_REPLICAS copies), the model store, the policy, tenant and rollout
                                  buckets; idempotent (npm start does this at start; the Kubernetes Job
                                  scoremesh-bootstrap)
  score -d, --data <request>      score one ScoreRequest through the public gRPC API; <request> is curl-style:
                                  @file.json (e.g. @deploy/local/example-request.json), '{...}', or @- for stdin
  reviews [--limit N] [--model M] [--all]
                                  the durable review cases (decisions REVIEW), oldest first, with their age and
                                  state (open, claimed by, resolved); --all: resolved ones too; N defaults to 20
  reviews claim ID                take the case: it is yours to resolve (signed with your operator key)
  reviews resolve ID --decision approve|decline --note TEXT
                                  decide a case you claimed; recorded in the audit trail next to the decision
  alerts [--model M] [--active]   the monitor's alerts (error rate, p99, drift, segment ratio, outcome band, breaker
                                  open, CPU fallback): state (ok, pending, firing), value against threshold, since
  alerts --watch [--model M]      follow each change of state as the monitor publishes it (NATS scoremesh.alerts.<model>)
  outcomes <model>                realised vs predicted default rate per risk tier (approve/review/decline) and its
                                  band state, calibration error and rolling AUC per version (docs/outcomes.md)
  cost                            CPU-seconds per 1,000 decisions per service; cost per 1,000 decisions by version
                                  and route, next to each version's card and rolling AUC
  tenant create NAME [--models a,b] [--rate R] [--burst B] [--daily-quota Q] [--max-batch N]
                                  a tenant and its API key, printed once (defaults: every model "*", 50 rows/s,
                                  burst 2 × rate, no daily quota, the validator's batch limit); with
                                  --replace-refused, also over a value validators refuse (unsigned, forged)
  tenant list | show NAME         tenants, their limits and key ids
  tenant revoke NAME              refuse every key of the tenant (every validator, within about a second)
  tenant rotate NAME [--grace S]  a new key, printed once; the old ones revoked now, or valid S seconds more
  tenant usage NAME               today's (UTC) calls, rows, refusals by reason and quota left
  card <model> <version>          the model card for people (use, limitations, data provenance, held-out performance
                                  overall and per segment with approval-rate ratios below 0.8 flagged, thresholds);
                                  --json: the card file as it is
  audit show REQUEST_ID           the audit record of a decision (from the SCOREMESH_AUDIT stream)
  audit verify [--since T]        walk the audit chains and signed checkpoints; names every record altered,
                                  removed or inserted (exits 1 then); T: ISO time or a duration (15m, 2h, 7d)
  audit replay REQUEST_ID | audit replay --since T [--limit N]
                                  rebuild each recorded vector from its inputs with its spec, re-run its version on
                                  the worker (or the rules), compare score (bit for bit), decision and reasons;
                                  reports every mismatch (exits 1 then); progress on stderr
  audit export --since T [--until T] [--model M] [--tenant ID] [--out FILE]
                                  the decision records decided in [since, until) as JSON Lines (stdout or FILE);
                                  progress and a summary on stderr
  audit retain [--keep D] [--dry-run]
                                  cut the audit stream's messages older than D (or SCOREMESH_AUDIT_RETENTION) at a
                                  checkpoint boundary, so that audit verify still passes; run it periodically
  drift MODEL                     the monitor's online drift of MODEL's versions: PSI of the score, every input and
                                  each protected attribute's segment (age band, sex, marriage) against the card's
                                  reference profile over the last N decisions and the last T, each with its state
                                  (ok, WARN, ALERT; "-" under the minimum sample), sample and since; confidence decay
  simulate MODEL VERSION [--since T] [--limit N]
                                  replay recorded traffic through a challenger version (small batches, one at a
                                  time): approve/review/decline rates before and after, flips, expected defaults
                                  among approvals, overall and by age band, sex, marriage and tenant
  backup --out DIR [--signing-key FILE]
                                  what a mesh cannot lose (tenants, policies, rollout history, review cases, outcome
                                  KV, model versions, the audit stream) into a new folder, with SHA-256 sums; the
                                  audit signing key only with --signing-key (0600); progress on stderr
  restore DIR [--force]           the backup into the mesh (sums checked first); refused when the mesh already
                                  holds data unless --force; then run audit verify (docs/deploy.md)

options:
  --json            print JSON (every command) instead of text for people
  --state-dir DIR   the folder of the npm start to talk to (default .scoremesh; npm start -- --state-dir DIR)

Where the mesh is: the variables the services read, where set (VALIDATOR_GRPC_ADDR, FEATURE_ADDR, ROUTER_ADDR,
WORKER_ADDR, MONITOR_ADDR, NATS_URL, MODEL_REPOSITORY), else the running npm start's DIR/mesh.json.
Who you are: NATS_NKEY_SEED_FILE (the control identity), SCOREMESH_OPERATOR_KEY_FILE (your signing key) and
SCOREMESH_TRUSTED_OPERATORS_FILE, SCOREMESH_AUDIT_PUBLIC_KEY_FILE (audit verify), else npm start's (DIR/nats/identities/control.nk, DIR/operators/<user>.nk,
DIR/operators.json, DIR/audit/signing-key.pub.pem).
backup and restore also act as the monitor and the routers: SCOREMESH_NATS_IDENTITIES_DIR/{monitor,router}.nk, else
DIR/nats/identities/.
The API key of score: SCOREMESH_API_KEY, else DIR/dev-api-key (the development tenant npm start makes).
Exit codes: 0 done, 1 failed (unreachable, refused, not serving), 2 bad usage or configuration.`;

const OPTIONS = {
  band: { type: "string" },
  label: { type: "string" },
  all: { type: "boolean" },
  active: { type: "boolean" },
  watch: { type: "boolean" },
  burst: { type: "string" },
  decision: { type: "string" },
  note: { type: "string" },
  data: { type: "string", short: "d" },
  "daily-quota": { type: "string" },
  grace: { type: "string" },
  "max-batch": { type: "string" },
  models: { type: "string" },
  rate: { type: "string" },
  "replace-refused": { type: "boolean" },
  since: { type: "string" },
  until: { type: "string" },
  tenant: { type: "string" },
  out: { type: "string" },
  keep: { type: "string" },
  "dry-run": { type: "boolean" },
  wait: { type: "string" },
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
  simulate: { type: "boolean" },
  off: { type: "boolean" },
  where: { type: "string" },
  model: { type: "string" },
  "state-dir": { type: "string" },
  "signing-key": { type: "string" },
  force: { type: "boolean" },
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
        " [--steps …] [--hold 60s | --hold-decisions N] [--simulate [--since T] [--limit N]]",
      );
      const opts = {
        steps: values.steps,
        hold: values.hold,
        holdDecisions: values["hold-decisions"],
        minSample: values["min-sample"],
        simulate: values.simulate,
        since: values.since,
        limit: values.limit,
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
    case "cascade":
      return cascadeCommand(target(), rest, values, out);
    case "pool":
      return poolCommand(target(), rest, values, out);
    case "publish": {
      const [model, dir] = args("publish", rest, ["model", "dir"], " [--wait S]");
      const wait = Number(values.wait ?? "60");
      if (!Number.isInteger(wait) || wait < 0 || wait > 3600)
        throw new CliError(`--wait must be whole seconds in [0, 3600], got ${values.wait}`, 2);
      return publish(target(), model!, dir!, wait, out);
    }
    case "retire": {
      const [model, version] = args("retire", rest, ["model", "version"]);
      return retire(target(), model!, version!, out);
    }
    case "segment":
      return segmentCommand(target(), rest, values, out);
    case "seed-policies":
      args("seed-policies", rest, []);
      return seedPolicies(target(), out);
    case "bootstrap":
      args("bootstrap", rest, []);
      return bootstrap(target(), out);
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
      if (rest.length > 0) return reviewAction(target(), rest, values, out);
      const limit = Number(values.limit ?? "20");
      if (!Number.isInteger(limit) || limit < 1 || limit > 1_000_000)
        throw new CliError(`--limit must be an integer in [1, 1000000], got ${values.limit}`, 2);
      return reviews(target(), { limit, model: values.model, all: values.all }, out);
    }
    case "alerts":
      args("alerts", rest, [], " [--model M] [--active] [--watch] [--json]");
      return values.watch
        ? watchAlerts(target(), { model: values.model }, out)
        : alerts(target(), { model: values.model, active: values.active }, out);
    case "outcomes": {
      const [model] = args("outcomes", rest, ["model"]);
      return outcomes(target(), model!, out);
    }
    case "cost":
      args("cost", rest, []);
      return cost(target(), out);
    case "tenant":
      return tenantCommand(target(), rest, values, out);
    case "audit":
      return auditCommand(target(), rest, values, out);
    case "card": {
      const [model, version] = args("card", rest, ["model", "version"]);
      return card(target(), model!, version!, out);
    }
    case "drift":
      return drift(target(), args("drift", rest, ["model"])[0]!, out);
    case "simulate": {
      const [model, version] = args("simulate", rest, ["model", "version"], " [--since T] [--limit N]");
      return simulate(target(), model!, version!, values, out);
    }
    case "backup":
      args("backup", rest, [], " --out DIR [--signing-key FILE]");
      return backup(target(), values, out);
    case "restore":
      if (rest.length !== 1) throw new CliError(BACKUP_USAGE, 2);
      return restore(target(), rest[0]!, values, out);
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

/** `meshctl cascade MODEL LIGHT --band LOW,HIGH`, `cascade MODEL --off`. */
function cascadeCommand(target: MeshTarget, rest: string[], values: { band?: string; off?: boolean }, out: Output) {
  if (rest.length === 2 && values.band !== undefined && !values.off)
    return setCascade(target, rest[0]!, rest[1]!, values.band, out);
  if (rest.length === 1 && values.off && values.band === undefined) return cascadeOff(target, rest[0]!, out);
  throw new CliError("usage: meshctl cascade <model> <light> --band LOW,HIGH | meshctl cascade <model> --off", 2);
}

/** `meshctl pool MODEL VERSION --label L`, `pool MODEL VERSION --off`, `pool MODEL`. */
function poolCommand(target: MeshTarget, rest: string[], values: { label?: string; off?: boolean }, out: Output) {
  if (rest.length === 2 && values.label !== undefined && !values.off)
    return setPool(target, rest[0]!, rest[1]!, values.label, out);
  if (rest.length === 2 && values.off && values.label === undefined) return poolOff(target, rest[0]!, rest[1]!, out);
  if (rest.length === 1 && !values.off && values.label === undefined) return poolStatus(target, rest[0]!, out);
  throw new CliError(
    "usage: meshctl pool <model> <version> --label L | meshctl pool <model> <version> --off | meshctl pool <model>",
    2,
  );
}

/** `meshctl segment MODEL NAME VERSION --where EXPR`, `segment MODEL NAME --off`. */
function segmentCommand(target: MeshTarget, rest: string[], values: { where?: string; off?: boolean }, out: Output) {
  if (rest.length === 3 && values.where !== undefined && !values.off)
    return setSegment(target, rest[0]!, rest[1]!, rest[2]!, values.where, out);
  if (rest.length === 2 && values.off && values.where === undefined) return segmentOff(target, rest[0]!, rest[1]!, out);
  throw new CliError(
    "usage: meshctl segment <model> <name> <version> --where EXPR | meshctl segment <model> <name> --off",
    2,
  );
}

main().catch((err: Error) => {
  console.error(`meshctl: ${err.message}`);
  process.exitCode = err instanceof CliError ? err.exitCode : 1;
});
