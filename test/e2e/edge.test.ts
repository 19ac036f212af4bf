import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { connect } from "node:net";
import { Code, ConnectError } from "@connectrpc/connect";
import { CREDIT_INPUTS } from "../support/credit-data.js";
import { startMeshFixture, waitFor, type MeshFixture } from "../support/mesh-fixture.js";

/** The hardened edge (issue 10 item 5) on a real mesh: size limits on both listeners, CORS, slow clients, clean errors. */
let fx: MeshFixture;
const SCORE = "/scoremesh.scoring.v1.ScoringService/Score";

before(async () => {
  fx = await startMeshFixture({
    LOG_LEVEL: "info",
    VALIDATOR_MAX_MESSAGE_BYTES: "65536",
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

test("with the feature service down, the client reads a clean UNAVAILABLE; the detail is in the log", async () => {
  fx.mesh.processes.get("feature")!.kill("SIGKILL");
  const err = await fx.scoring
    .score({ model: "credit-default", inputs: { ...CREDIT_INPUTS } }, { timeoutMs: 3000 })
    .then(
      () => assert.fail("answered without a feature service"),
      (e: unknown) => ConnectError.from(e),
    );
  console.log(`client read: ${Code[err.code]} ${err.rawMessage}`);
  assert.equal(fx.mesh.processes.get("validator")!.exitCode, null);
  assert.ok([Code.Unavailable, Code.DeadlineExceeded].includes(err.code), Code[err.code]);
  assert.doesNotMatch(err.rawMessage, /\d+\.\d+\.\d+\.\d+|ECONN|Last error/);
  const hidden = await waitFor(
    "the validator to log the hidden detail",
    () => fx.logLines("validator").find((l) => l["msg"] === "error detail hidden from the client"),
    5000,
  );
  assert.match(String(hidden["detail"]), /127\.0\.0\.1|ECONN|No connection|Connection dropped/);
});
