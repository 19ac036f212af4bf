import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { connect } from "node:net";
import { Code, ConnectError } from "@connectrpc/connect";
import { join } from "node:path";
import { fromJson, type JsonValue } from "@bufbuild/protobuf";
import { Decision, Route, ScoreBatchResponseSchema } from "../../gen/scoremesh/scoring/v1/scoring_pb.js";
import { PROJECT_ROOT } from "../../deploy/local/mesh.js";
import {
  buildVector,
  decideDegraded,
  ModelRepository,
  RULES_VERSION,
  RulesScorecard,
} from "../../services/lib/model/index.js";
import { EDGE_RULES_HEADER } from "../../services/validator/edge-rules.js";
import { connect as connectNats } from "nats";
import { Assignment, type AuditRecord } from "../../gen/scoremesh/audit/v1/audit_pb.js";
import { identityOptions } from "../../services/lib/nats/index.js";
import { EnvReader, natsIdentity } from "../../services/lib/service/index.js";
import { readTrail } from "../../tools/meshctl/audit-read.js";
import { auditRecordsOf } from "../../tools/meshctl/replay/records.js";
import { CREDIT_INPUTS } from "../support/credit-data.js";
import { sleep, startMeshFixture, waitFor, type MeshFixture } from "../support/mesh-fixture.js";

/**
 * The hardened edge (issue 10 item 5) on a real mesh: size limits on both listeners, CORS, slow clients, clean errors;
 * the rules baseline at the edge when no router or feature replica answers (issue 11 item 0), each such decision
 * in the audit trail on the edge's own chains (issue 12 items 1-3).
 */
let fx: MeshFixture;
const SCORE = "/scoremesh.scoring.v1.ScoringService/Score";

before(async () => {
  fx = await startMeshFixture({
    LOG_LEVEL: "info",
    VALIDATOR_MAX_MESSAGE_BYTES: "65536",
    // The edge's own rules baseline when the mesh behind it is down is on by default, audited in the edge's chains.
    VALIDATOR_CORS_ORIGINS: "https://app.example",
    VALIDATOR_HTTP_HEADERS_TIMEOUT_MS: "1000",
    VALIDATOR_HTTP_REQUEST_TIMEOUT_MS: "2000",
  });
});
after(async () => {
  await fx?.close();
});

const big = () => ({ model: "credit-default", inputs: { ...CREDIT_INPUTS }, requestId: "r".repeat(100_000) });

test("a message over VALIDATOR_MAX_MESSAGE_BYTES: RESOURCE_EXHAUSTED on gRPC, 413 on HTTP, never a reset", async () => {
  const err = await fx.scoring.score(big(), { timeoutMs: 5000 }).then(
    () => assert.fail("an oversize message was accepted"),
    (e: unknown) => ConnectError.from(e),
  );
  assert.equal(err.code, Code.ResourceExhausted);
  assert.match(err.rawMessage, /larger than max/i);
  const res = await fetch(fx.httpBase + SCORE, {
    method: "POST",
    headers: fx.httpHeaders,
    body: JSON.stringify(big()),
  });
  assert.equal(res.status, 413);
  assert.match(((await res.json()) as { message: string }).message, /larger than the limit of 65536/);
});

test("CORS: an allowed origin's preflight gets the Connect headers; another origin gets none", async () => {
  const preflight = (origin: string) =>
    fetch(fx.httpBase + SCORE, {
      method: "OPTIONS",
      headers: { origin, "access-control-request-method": "POST", "access-control-request-headers": "content-type" },
    });
  const ok = await preflight("https://app.example");
  assert.equal(ok.status, 204);
  assert.equal(ok.headers.get("access-control-allow-origin"), "https://app.example");
  assert.match(ok.headers.get("access-control-allow-headers") ?? "", /Content-Type/i);
  const other = await preflight("https://evil.example");
  assert.equal(other.headers.get("access-control-allow-origin"), null);
});

test("a client that never finishes its headers is cut off by the headers timeout", async () => {
  const [host, port] = fx.mesh.env["VALIDATOR_HTTP_ADDR"]!.split(":");
  const t0 = performance.now();
  const closedAfter = await new Promise<number>((resolve, reject) => {
    const s = connect(Number(port), host, () => s.write(`POST ${SCORE} HTTP/1.1\r\nHost: x\r\n`));
    s.on("error", reject);
    s.on("close", () => resolve(performance.now() - t0));
    s.resume();
  });
  assert.ok(closedAfter < 8000, `closed after ${closedAfter} ms`);
});

test("a retried Score: the same answer, one row of the tenant's usage, one audit record; a reused id is refused", async () => {
  const created = await fx.meshctl("tenant", "create", "retrier", "--json");
  assert.equal(created.code, 0, created.stderr);
  const { key } = JSON.parse(created.stdout) as { key: string };
  const call = (body: unknown) =>
    fetch(fx.httpBase + SCORE, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${key}` },
      body: JSON.stringify(body),
    });
  const req = { requestId: "retry-1", model: "credit-default", inputs: { ...CREDIT_INPUTS } };
  let first: unknown;
  for (const end = Date.now() + 10_000; first === undefined && Date.now() < end; await sleep(100)) {
    const res = await call(req); // refused (401) until the validator has seen the new tenant: nothing charged
    if (res.status === 200) first = await res.json();
  }
  assert.ok(first, "the new tenant's key was never accepted");
  const again = await call(req);
  assert.deepEqual(await again.json(), first);
  const reused = await call({ ...req, inputs: { ...CREDIT_INPUTS, AGE: 41 } });
  assert.equal(reused.status, 400);
  assert.match(((await reused.json()) as { message: string }).message, /request_id.*different request/);
  assert.equal((await call({ ...req, requestId: "retry-fence" })).status, 200);
  // The fence was charged after the retry: once the usage shows it, the retry's count is in too.
  let rows = 0;
  for (const end = Date.now() + 15_000; rows < 2 && Date.now() < end; await sleep(250)) {
    const u = await fx.meshctl("tenant", "usage", "retrier", "--json");
    rows = (JSON.parse(u.stdout) as { rows: number }).rows;
  }
  assert.equal(rows, 2, "retry-1 once and the fence once");
  let shown: { code: number; stdout: string } | undefined;
  for (const end = Date.now() + 15_000; !shown && Date.now() < end; await sleep(250)) {
    const [one, fence] = await Promise.all(
      ["retry-1", "retry-fence"].map((id) => fx.meshctl("audit", "show", id, "--json")),
    );
    if (one!.code === 0 && fence!.code === 0) shown = one; // the fence was recorded after retry-1
  }
  assert.ok(shown, "retry-1 and the fence never reached the audit trail");
  const records = JSON.parse(shown.stdout) as { record: { tenantId: string } }[];
  assert.deepEqual(
    records.map((r) => r.record.tenantId),
    ["retrier"],
  );
});

const spec = new ModelRepository(join(PROJECT_ROOT, "models")).spec("credit-default");
const rules = new RulesScorecard(spec);
/** A client two months late on a full card (the rules decline it) and the shipped example row. */
const ROWS = [
  { ...CREDIT_INPUTS, PAY_0: 2, PAY_2: 2, PAY_3: 2, BILL_AMT1: 95_000, LIMIT_BAL: 100_000, PAY_AMT1: 0 },
  { ...CREDIT_INPUTS },
];

/** Scores ROWS (Connect JSON) and checks each answer is the rules' degraded decision, as a router's rules make it. */
async function expectEdgeRules(what: string): Promise<void> {
  const requests = ROWS.map((inputs, i) => ({ requestId: `${what}-${i}`, model: "credit-default", inputs }));
  const http = await fetch(fx.httpBase + "/scoremesh.scoring.v1.ScoringService/ScoreBatch", {
    method: "POST",
    headers: { ...fx.httpHeaders, "connect-timeout-ms": "3000" },
    body: JSON.stringify({ requests }),
  });
  assert.equal(http.status, 200, what);
  const header = http.headers.get(EDGE_RULES_HEADER);
  assert.match(header ?? "", /^rules at the edge: the mesh answered (Unavailable|DeadlineExceeded)$/, what);
  const res = fromJson(ScoreBatchResponseSchema, (await http.json()) as JsonValue);
  res.responses.forEach((r, i) => {
    const score = rules.score(buildVector(spec, ROWS[i]!).vector).score;
    assert.deepEqual(
      [r.requestId, r.route, r.degraded, r.modelVersion, r.score],
      [`${what}-${i}`, Route.RULES, true, RULES_VERSION, score],
    );
    assert.equal(r.decision, decideDegraded(score, rules.thresholds(), 0.02));
  });
  assert.equal(res.responses[0]!.decision, Decision.DECLINE, what);
}

test("every router down: the edge answers by the rules baseline (degraded, route RULES), not UNAVAILABLE", async () => {
  for (const [name, child] of fx.mesh.processes) if (name.startsWith("router")) child.kill("SIGKILL");
  await expectEdgeRules("routers-down");
  const line = await waitFor(
    "the validator to log the failover once",
    () => fx.logLines("validator").find((l) => String(l["msg"]).startsWith("no feature or router replica answered")),
    5000,
  );
  assert.equal(line["model"], "credit-default");
});

test("the feature service down too: still the rules; a model without rules reads a clean UNAVAILABLE", async () => {
  fx.mesh.processes.get("feature")!.kill("SIGKILL");
  await expectEdgeRules("feature-down");
  assert.equal(fx.mesh.processes.get("validator")!.exitCode, null);
  const lateSpec = new ModelRepository(join(PROJECT_ROOT, "models")).spec("late-payment");
  const inputs = Object.fromEntries(lateSpec.inputs.map((i) => [i.name, CREDIT_INPUTS[i.name] ?? 0]));
  const err = await fx.scoring.score({ model: "late-payment", inputs }, { timeoutMs: 3000 }).then(
    () => assert.fail("late-payment answered without a feature service"),
    (e: unknown) => ConnectError.from(e),
  );
  console.log(`client read: ${Code[err.code]} ${err.rawMessage}`);
  assert.ok([Code.Unavailable, Code.DeadlineExceeded].includes(err.code), Code[err.code]);
  assert.doesNotMatch(err.rawMessage, /\d+\.\d+\.\d+\.\d+|ECONN|Last error/);
  const hidden = await waitFor(
    "the validator to log the hidden detail",
    () => fx.logLines("validator").find((l) => l["msg"] === "error detail hidden from the client"),
    5000,
  );
  assert.match(String(hidden["detail"]), /127\.0\.0\.1|ECONN|No connection|Connection dropped/);
});

/** The audit records of `ids` in the stream, read as the control identity (in process: no meshctl start per poll). */
async function recordsOf(ids: string[]): Promise<AuditRecord[]> {
  const identity = natsIdentity(new EnvReader({ NATS_NKEY_SEED_FILE: fx.mesh.keys.seedFile.control }));
  const nc = await connectNats({ servers: fx.mesh.natsUrl, timeout: 5000, ...identityOptions(identity) });
  try {
    for (const end = Date.now() + 15_000; ; await sleep(250)) {
      const { entries } = await readTrail(nc);
      const found = auditRecordsOf(entries)
        .map((s) => s.record)
        .filter((r) => ids.includes(r.requestId));
      if (found.length >= ids.length || Date.now() > end) return found;
    }
  } finally {
    await nc.close();
  }
}

test("the edge's decisions are in the audit stream on its own chains: show names them, replay recomputes them, verify passes", async () => {
  const ids = ["routers-down-0", "routers-down-1", "feature-down-0", "feature-down-1"];
  const found = await recordsOf(ids);
  assert.deepEqual(found.map((r) => r.requestId).sort(), [...ids].sort(), "each decision the edge answered, once");
  for (const r of found) {
    assert.deepEqual(
      [r.assignment, r.route, r.modelVersion, r.degraded, r.tenantId],
      [Assignment.EDGE_RULES, Route.RULES, RULES_VERSION, true, "dev"],
    );
    assert.match(r.degradedReason, /^(UNAVAILABLE|DEADLINE_EXCEEDED)$/);
    assert.match(r.link!.writer, /^validator-/);
    assert.ok(!("AGE" in r.inputs), "no raw protected attribute");
  }
  const [text, replay, v] = await Promise.all([
    fx.meshctl("audit", "show", "routers-down-0"),
    fx.meshctl("audit", "replay", "routers-down-0", "--json"),
    fx.meshctl("audit", "verify", "--json"),
  ]);
  assert.match(text.stdout, /decided at the edge by the rules baseline/);
  assert.equal(replay.code, 0, replay.stdout + replay.stderr);
  const replayed = JSON.parse(replay.stdout) as { ok: boolean; match: number };
  assert.deepEqual([replayed.ok, replayed.match], [true, 1]);
  assert.equal(v.code, 0, v.stdout + v.stderr);
  const report = JSON.parse(v.stdout) as { ok: boolean; problems: unknown[] };
  assert.deepEqual([report.ok, report.problems], [true, []]);
});
