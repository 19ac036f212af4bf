import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { once } from "node:events";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { Decision, Outcome, ScoringService } from "../../gen/scoremesh/scoring/v1/scoring_pb.js";
import { createGrpcTransport, fieldViolations, withBearer } from "../../services/lib/rpc/index.js";
import { creditRows } from "../support/credit-data.js";
import { meshctlEnv, runMeshctl, sleep, startMeshFixture, type MeshFixture } from "../support/mesh-fixture.js";

const MODEL = "credit-default";

interface CaseJson {
  caseId: string;
  status: string;
  reviewer: string;
  decision: { requestId: string };
}

describe("review workflow: durable cases, claimed and resolved by identified reviewers, in the audit trail", () => {
  let fx: MeshFixture;
  const reviewed: string[] = [];
  const scored: { requestId: string; decision: Decision; modelVersion: string; score: number }[] = [];
  /** meshctl as the second reviewer: the launcher's operator key. */
  const asB = (...args: string[]) =>
    runMeshctl({ ...meshctlEnv(fx.mesh), SCOREMESH_OPERATOR_KEY_FILE: fx.mesh.keys.launcherOperatorKeyFile }, args);
  const listed = async (...extra: string[]): Promise<CaseJson[]> => {
    const r = await fx.meshctl("reviews", "--limit", "1000", "--json", ...extra);
    assert.equal(r.code, 0, r.stderr);
    return (JSON.parse(r.stdout) as { reviewCases: CaseJson[] }).reviewCases;
  };

  before(async () => {
    // The monitor scrapes every instance's /metrics each second (cost per 1,000 decisions).
    fx = await startMeshFixture({ MONITOR_COST_INTERVAL_MS: "1000" });
    for (const inputs of creditRows(120)) {
      const res = await fx.scoring.score({ model: MODEL, inputs });
      scored.push(res);
      if (res.decision === Decision.REVIEW) reviewed.push(res.requestId);
    }
    assert.ok(reviewed.length >= 3, `the credit rows reached review (${reviewed.length})`);
  });
  after(async () => fx?.close());

  test("cases survive a monitor SIGKILL and restart, with their age", async () => {
    const end = Date.now() + 15_000;
    while ((await listed()).length < reviewed.length && Date.now() < end) await sleep(200);
    const monitor = fx.mesh.processes.get("monitor")!;
    monitor.kill("SIGKILL");
    await once(monitor, "exit");
    await fx.mesh.startService("monitor");
    let cases: CaseJson[] = [];
    for (const stop = Date.now() + 15_000; Date.now() < stop; await sleep(200)) {
      cases = await listed().catch(() => []);
      if (cases.length >= reviewed.length) break;
    }
    assert.deepEqual(cases.map((c) => c.decision.requestId).sort(), [...reviewed].sort(), "every case, once");
    const text = await fx.meshctl("reviews", "--limit", "1000");
    assert.match(text.stdout, new RegExp(`  [0-9a-f]{16}  ${reviewed[0]}  age \\d+[sm]  OPEN  ${MODEL} v`));
  });

  test("claim by A, resolve by B refused; A resolves; a second resolution refused; the audit shows who", async () => {
    const c = (await listed()).find((x) => x.decision.requestId === reviewed[0])!;
    const claim = await fx.meshctl("reviews", "claim", c.caseId);
    assert.equal(claim.code, 0, claim.stderr);
    assert.match(claim.stdout, new RegExp(`CLAIMED by ${fx.mesh.keys.operatorName}`));
    // B's two attempts at once (each a meshctl process): both must be refused while A holds the case.
    const [byB, claimB] = await Promise.all([
      asB("reviews", "resolve", c.caseId, "--decision", "approve", "--note", "looks fine"),
      asB("reviews", "claim", c.caseId),
    ]);
    assert.equal(byB.code, 1);
    assert.match(byB.stderr, new RegExp(`claimed by ${fx.mesh.keys.operatorName}, not by launcher`));
    assert.equal(claimB.code, 1, "nor can B take it over");
    const ok = await fx.meshctl("reviews", "resolve", c.caseId, "--decision", "decline", "--note", "income unproven");
    assert.equal(ok.code, 0, ok.stderr);
    const again = await fx.meshctl("reviews", "resolve", c.caseId, "--decision", "approve", "--note", "changed mind");
    assert.equal(again.code, 1);
    assert.match(again.stderr, /already resolved \(DECLINE by .+\); a resolution is final/);
    const [open, all] = await Promise.all([listed(), listed("--all")]);
    assert.ok(!open.some((x) => x.caseId === c.caseId), "resolved cases leave the open list");
    assert.equal(all.find((x) => x.caseId === c.caseId)?.status, "REVIEW_STATUS_RESOLVED");
    let shown = { code: 1, stdout: "", stderr: "" };
    for (const stop = Date.now() + 15_000; Date.now() < stop && shown.code !== 0; await sleep(300))
      shown = await fx.meshctl("audit", "show", reviewed[0]!, "--json");
    assert.equal(shown.code, 0, shown.stderr);
    const items = JSON.parse(shown.stdout) as Record<string, Record<string, unknown>>[];
    assert.equal(items[0]!["record"]!["decision"], "DECISION_REVIEW", "the original decision");
    const res = items.find((i) => i["resolution"])!;
    assert.equal(res["resolution"]!["reviewer"], fx.mesh.keys.operatorName);
    assert.equal(res["resolution"]!["decision"], "DECISION_DECLINE");
    assert.equal(res["resolution"]!["note"], "income unproven");
    assert.equal(res["signatureVerified"], true);
    const human = await fx.meshctl("audit", "show", reviewed[0]!);
    assert.match(
      human.stdout,
      /reviewed: REVIEW -> DECLINE by .+\n.*\n {4}note: income unproven\n {4}reviewer's signature: verified/,
    );
  });

  test("an unknown case is refused, and a bad decision is a usage error", async () => {
    const [none, bad] = await Promise.all([
      fx.meshctl("reviews", "claim", "0000000000000000"),
      fx.meshctl("reviews", "resolve", "0000000000000000", "--decision", "maybe", "--note", "x"),
    ]);
    assert.equal(none.code, 1);
    assert.match(none.stderr, /no review case "0000000000000000"/);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--decision must be approve or decline/);
  });

  test("ReportOutcome: the owner's outcome joins its decision once; another tenant's call is NOT_FOUND", async () => {
    const err = (p: Promise<unknown>) =>
      p.then(
        () => assert.fail("accepted"),
        (e: unknown) => ConnectError.from(e),
      );
    const target = scored.find((r) => r.decision === Decision.APPROVE) ?? scored[0]!;
    const report = { requestId: target.requestId, outcome: Outcome.DEFAULTED, observedOn: "2026-10-01" };
    const first = await fx.scoring.reportOutcome(report);
    assert.deepEqual(
      [first.duplicate, first.model, first.modelVersion, first.decision],
      [false, MODEL, target.modelVersion, target.decision],
    );
    assert.equal((await fx.scoring.reportOutcome(report)).duplicate, true, "the same outcome again is fine");
    const changed = await err(fx.scoring.reportOutcome({ ...report, outcome: Outcome.REPAID }));
    assert.equal(changed.code, Code.FailedPrecondition);
    assert.match(changed.rawMessage, /already has the outcome DEFAULTED/);
    const unknown = await err(fx.scoring.reportOutcome({ ...report, requestId: "no-such-request" }));
    assert.equal(unknown.code, Code.NotFound);

    const made = await fx.meshctl("tenant", "create", "other", "--json");
    assert.equal(made.code, 0, made.stderr);
    const { key } = JSON.parse(made.stdout) as { key: string };
    const transport = withBearer(
      createGrpcTransport({
        address: fx.mesh.env["VALIDATOR_GRPC_ADDR"]!,
        credentials: fx.mesh.credentials("validator"),
      }),
      key,
    );
    try {
      const other = createClient(ScoringService, transport);
      let theirs: ConnectError | undefined;
      // The new tenant reaches the validators within about a second.
      for (const stop = Date.now() + 10_000; Date.now() < stop; await sleep(200)) {
        theirs = await err(other.reportOutcome({ ...report, outcome: Outcome.REPAID }));
        if (theirs.code !== Code.Unauthenticated) break;
      }
      assert.equal(theirs?.code, Code.NotFound, "another tenant's request is not found, as an unknown one");
      assert.equal(theirs?.rawMessage, `no decision of request "${target.requestId}"`);
    } finally {
      transport.close();
    }

    const bad = await err(
      fx.scoring.reportOutcome({ requestId: "", outcome: Outcome.UNSPECIFIED, observedOn: "2026-02-30" }),
    );
    assert.equal(bad.code, Code.InvalidArgument);
    assert.deepEqual(
      fieldViolations(bad).map((x) => [x.field, x.reason]),
      [
        ["request_id", "REQUIRED"],
        ["outcome", "BAD_VALUE"],
        ["observed_on", "BAD_FORMAT"],
      ],
    );
    // The HTTP listener serves the same handler (Connect JSON).
    const res = await fetch(`${fx.httpBase}/scoremesh.scoring.v1.ScoringService/ReportOutcome`, {
      method: "POST",
      headers: fx.httpHeaders,
      body: JSON.stringify({ requestId: target.requestId, outcome: "OUTCOME_DEFAULTED", observedOn: "2026-10-01" }),
    });
    assert.equal(res.status, 200);
    assert.equal(((await res.json()) as { duplicate: boolean }).duplicate, true);

    const stats = await fx.monitor.getStats({});
    assert.deepEqual(
      stats.outcomes.map((o) => [o.modelVersion, o.decision, o.outcome, o.count]),
      [[target.modelVersion, target.decision, Outcome.DEFAULTED, 1n]],
      "counted once, by version x decision x outcome",
    );
  });

  test("GetDecisionRecord: a tenant reads its own decision (with its outcome); another tenant's is NOT_FOUND, as an unknown one", async () => {
    const err = (p: Promise<unknown>) =>
      p.then(
        () => assert.fail("accepted"),
        (e: unknown) => ConnectError.from(e),
      );
    const mine = scored.find((r) => r.decision !== Decision.APPROVE) ?? scored[1]!;
    const rec = await fx.scoring.getDecisionRecord({ requestId: mine.requestId });
    assert.deepEqual(
      [rec.requestId, rec.model, rec.modelVersion, rec.decision, rec.score],
      [mine.requestId, MODEL, mine.modelVersion, mine.decision, mine.score],
    );
    assert.ok(rec.decidedAt && rec.traceId.length === 32, "decided_at and trace id kept");
    if (mine.decision !== Decision.APPROVE) assert.ok(rec.reasons.length > 0, "the reasons returned are kept");
    const unknown = await err(fx.scoring.getDecisionRecord({ requestId: "no-such-request" }));
    assert.equal(unknown.code, Code.NotFound);
    const empty = await err(fx.scoring.getDecisionRecord({ requestId: "" }));
    assert.deepEqual(
      fieldViolations(empty).map((x) => [x.field, x.reason]),
      [["request_id", "REQUIRED"]],
    );

    const made = await fx.meshctl("tenant", "create", "reader", "--json");
    assert.equal(made.code, 0, made.stderr);
    const { key } = JSON.parse(made.stdout) as { key: string };
    const transport = withBearer(
      createGrpcTransport({
        address: fx.mesh.env["VALIDATOR_GRPC_ADDR"]!,
        credentials: fx.mesh.credentials("validator"),
      }),
      key,
    );
    try {
      const other = createClient(ScoringService, transport);
      let theirs: ConnectError | undefined;
      for (const stop = Date.now() + 10_000; Date.now() < stop; await sleep(200)) {
        theirs = await err(other.getDecisionRecord({ requestId: mine.requestId }));
        if (theirs.code !== Code.Unauthenticated) break;
      }
      assert.equal(theirs?.code, Code.NotFound, "another tenant's record is not found");
      const missing = await err(other.getDecisionRecord({ requestId: "no-such-request" }));
      assert.equal(theirs?.rawMessage.replace(mine.requestId, "X"), missing.rawMessage.replace("no-such-request", "X"));
    } finally {
      transport.close();
    }
    // The outcome reported in the previous test comes back with its decision; the HTTP listener serves it too.
    const reported = scored.find((r) => r.decision === Decision.APPROVE) ?? scored[0]!;
    const res = await fetch(`${fx.httpBase}/scoremesh.scoring.v1.ScoringService/GetDecisionRecord`, {
      method: "POST",
      headers: fx.httpHeaders,
      body: JSON.stringify({ requestId: reported.requestId }),
    });
    assert.equal(res.status, 200);
    const body = (await res.json()) as Record<string, unknown>;
    assert.deepEqual([body["outcome"], body["observedOn"]], ["OUTCOME_DEFAULTED", "2026-10-01"]);
    assert.ok(!("tenantId" in body) && !("inputs" in body), "no tenant id, inputs or chain fields");
  });

  test("meshctl outcomes: reported outcomes by tier; meshctl cost: CPU per 1,000 decisions by service and version", async () => {
    const mine = scored.slice(60, 100);
    for (const [i, r] of mine.entries())
      await fx.scoring.reportOutcome({
        requestId: r.requestId,
        outcome: i % 4 === 0 ? Outcome.DEFAULTED : Outcome.REPAID,
        observedOn: "2026-10-02",
      });
    const [o, text] = await Promise.all([fx.meshctl("outcomes", MODEL, "--json"), fx.meshctl("outcomes", MODEL)]);
    assert.equal(o.code, 0, o.stderr);
    type Tier = { tier: string; outcomes: string; defaults: string };
    const versions = (JSON.parse(o.stdout) as { versions: { modelVersion: string; tiers: Tier[] }[] }).versions;
    const total = versions.flatMap((v) => v.tiers).reduce((a, t) => a + Number(t.outcomes), 0);
    assert.ok(total >= mine.length, `every reported outcome is in a window (${total})`);
    const approve = mine.filter((r) => r.decision === Decision.APPROVE).length;
    const inApprove = versions.flatMap((v) => v.tiers).filter((t) => t.tier === "DECISION_APPROVE");
    assert.ok(inApprove.reduce((a, t) => a + Number(t.outcomes), 0) >= approve, "approvals in the approve tier");
    assert.match(text.stdout, /approve .* realised .* predicted/);

    type Cost = {
      decisions: string;
      unreachable: string[];
      services: { service: string; cpuSeconds: number }[];
      versions: { modelVersion: string; route?: string; decisions: string; costPer1000: number; cardAuc?: number }[];
    };
    // Cost counts from the monitor's first scrape (the first test restarted it): new decisions.
    for (const inputs of creditRows(40, 200)) await fx.scoring.score({ model: MODEL, inputs });
    for (let stop = Date.now() + 15_000; Date.now() < stop; await sleep(500))
      if ((await fx.monitor.getCost({})).decisions >= 40n) break;
    const c = await fx.meshctl("cost", "--json");
    assert.equal(c.code, 0, c.stderr);
    const cost = JSON.parse(c.stdout) as Cost;
    assert.ok(Number(cost.decisions) >= 40, `the monitors' decisions scraped: ${JSON.stringify(cost)}`);
    assert.deepEqual(
      cost.services.map((s) => s.service),
      ["feature", "model-worker", "monitor", "router", "validator"],
    );
    for (const s of cost.services) assert.ok(s.cpuSeconds > 0, `${s.service} used CPU`);
    const whole = cost.versions.filter((v) => v.route === undefined);
    assert.ok(whole.length > 0 && whole.every((v) => v.costPer1000 > 0 && v.cardAuc! > 0.5), JSON.stringify(whole));
  });
});
