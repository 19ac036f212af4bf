import { test } from "node:test";
import assert from "node:assert/strict";
import { cpSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient } from "@connectrpc/connect";
import { ScoringService } from "../../gen/scoremesh/scoring/v1/scoring_pb.js";
import { bootstrapLines } from "../../deploy/local/control-bootstrap.js";
import { PROJECT_ROOT, randomPorts, startMesh, type Mesh } from "../../deploy/local/mesh.js";
import { createGrpcTransport, withBearer } from "../../services/lib/rpc/index.js";
import { creditRows } from "../support/credit-data.js";
import { sleep } from "../support/mesh-fixture.js";
import { controlPolicies } from "../support/policy-writer.js";

const MODEL = "credit-default";
const SEED = "3";

// Issue 11's story: a version copied into the repository was made champion, its folder was then removed and the
// mesh restarted. Before, every call failed (UNAVAILABLE "no serving policy for model credit-default yet"), the
// router logged that four times a second and npm start gave up. Now the mesh starts, says what is wrong, and
// answers every call with the seed version, degraded.
test("a champion removed from the repository, then the mesh restarted: it starts, says why, and answers degraded", async () => {
  const stateDir = mkdtempSync(join(tmpdir(), "scoremesh-e2e-story-"));
  const repoDir = mkdtempSync(join(tmpdir(), "scoremesh-e2e-story-models-"));
  cpSync(join(PROJECT_ROOT, "models"), repoDir, { recursive: true });
  const env = { LOG_LEVEL: "info", MODEL_REPOSITORY: repoDir };
  let mesh: Mesh | undefined;
  try {
    mesh = await startMesh({ ports: await randomPorts(), stateDir, env });
    cpSync(join(repoDir, MODEL, "4"), join(repoDir, MODEL, "9"), { recursive: true });
    // meshctl refuses it now (no worker had it ready); it lands anyway, as it did before that check.
    const { store, nc } = await controlPolicies(mesh);
    await store.put({ model: MODEL, championVersion: "9" });
    await nc.close();
    await mesh.stop();
    mesh = undefined;
    rmSync(join(repoDir, MODEL, "9"), { recursive: true });

    mesh = await startMesh({ ports: await randomPorts(), stateDir, env });
    const lines = bootstrapLines(mesh.policyBootstrap).join("\n");
    console.log(`# npm start says: ${lines}`);
    assert.match(
      lines,
      /serving policy of credit-default: its champion, version 9, is not in the model repository \(versions: 1, 2, 3, 4, 5\): routers serve version 3 instead \(degraded\)/,
    );
    const transport = withBearer(
      createGrpcTransport({ address: mesh.env["VALIDATOR_GRPC_ADDR"]!, credentials: mesh.credentials("validator") }),
      mesh.apiKey!,
    );
    try {
      const scoring = createClient(ScoringService, transport);
      for (const inputs of creditRows(20)) {
        const res = await scoring.score({ model: MODEL, inputs }, { timeoutMs: 5000 });
        assert.deepEqual([res.modelVersion, res.degraded], [SEED, true]);
      }
    } finally {
      transport.close();
    }
    await sleep(2000); // eight reconcile ticks
    const log = readFileSync(join(mesh.logDir, "router.log"), "utf8");
    const count = (re: RegExp) => log.split("\n").filter((l) => re.test(l)).length;
    assert.equal(count(/the policy names a version that is not in the model repository/), 1, "logged once");
    assert.equal(count(/serving version 3 instead \(degraded\)/), 1);
  } finally {
    await mesh?.stop();
    rmSync(stateDir, { recursive: true, force: true });
    rmSync(repoDir, { recursive: true, force: true });
  }
});
