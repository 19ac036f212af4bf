import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import * as grpc from "@grpc/grpc-js";
import { HealthImplementation } from "grpc-health-check";
import { HEALTHCHECK_SCRIPT } from "../../../deploy/compose/compose-spec.js";
import { PROJECT_ROOT } from "../../../deploy/local/mesh.js";
import { freePort } from "../../../deploy/local/ports.js";

/** Runs the compose healthcheck's script as Docker does (a process of its own); its exit code and stderr. */
async function healthcheck(...args: string[]): Promise<{ code: number; stderr: string }> {
  try {
    const r = await promisify(execFile)(process.execPath, [HEALTHCHECK_SCRIPT, ...args], { cwd: PROJECT_ROOT });
    return { code: 0, stderr: r.stderr };
  } catch (err) {
    const e = err as { code: number; stderr: string };
    return { code: e.code, stderr: e.stderr };
  }
}

test("healthcheck exits 0 only while the plaintext health port says SERVING", async (t) => {
  const health = new HealthImplementation({ "": "NOT_SERVING" });
  const server = new grpc.Server();
  health.addToServer(server);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    ),
  );
  t.after(() => server.forceShutdown());
  const address = `127.0.0.1:${port}`;
  assert.deepEqual(await healthcheck(address), { code: 1, stderr: `${address}: NOT_SERVING\n` });
  health.setStatus("", "SERVING");
  assert.deepEqual(await healthcheck(address), { code: 0, stderr: "" });
  // Nothing listening there: unhealthy, not a hang.
  const closed = `127.0.0.1:${await freePort()}`;
  assert.deepEqual(await healthcheck(closed), { code: 1, stderr: `${closed}: UNREACHABLE\n` });
});

test("healthcheck without one HOST:PORT says how to call it and exits 2", async () => {
  // One process per case (each costs a Node start): a missing address, and a word that is no HOST:PORT.
  for (const args of [[], ["health"]]) {
    const r = await healthcheck(...args);
    assert.equal(r.code, 2, args.join(" "));
    assert.match(r.stderr, /usage: healthcheck HOST:PORT/);
  }
});
