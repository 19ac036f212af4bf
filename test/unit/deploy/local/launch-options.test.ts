import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { LaunchUsageError, portVariable, readLaunchOptions } from "../../../../deploy/local/launch-options.js";
import { DEFAULT_PORTS, PROJECT_ROOT } from "../../../../deploy/local/mesh.js";

test("npm start's defaults: the documented ports, .scoremesh in the project, 60 s to come up", () => {
  const o = readLaunchOptions([], {});
  assert.deepEqual(o.ports, DEFAULT_PORTS);
  assert.equal(o.stateDir, join(PROJECT_ROOT, ".scoremesh"));
  assert.equal(o.readyTimeoutMs, 60_000);
  assert.equal(o.replicas, 1);
  assert.equal(readLaunchOptions(["--replicas", "2"], {}).replicas, 2);
  assert.equal(portVariable("validatorHttp"), "SCOREMESH_VALIDATOR_HTTP_PORT");
});

test("--port-offset moves every port; a SCOREMESH_<NAME>_PORT variable wins for its port", () => {
  const o = readLaunchOptions(["--port-offset", "100", "--state-dir", ".scoremesh/2", "--ready-timeout", "90"], {
    SCOREMESH_NATS_PORT: "5000",
  });
  assert.equal(o.ports.nats, 5000);
  assert.equal(o.ports.validatorGrpc, DEFAULT_PORTS.validatorGrpc + 100);
  assert.equal(o.ports.monitorHttp, DEFAULT_PORTS.monitorHttp + 100);
  assert.equal(o.stateDir, join(PROJECT_ROOT, ".scoremesh/2"));
  assert.equal(o.readyTimeoutMs, 90_000);
  assert.equal(readLaunchOptions(["--state-dir", "/tmp/mesh"], {}).stateDir, "/tmp/mesh");
});

test("bad flags and ports are usage errors that say what is wrong", () => {
  const cases: [string[], NodeJS.ProcessEnv, RegExp][] = [
    [["--port-offset=-1"], {}, /--port-offset must be an integer/],
    [["--port-offset", "20000"], {}, /--port-offset must be an integer/],
    [["--ready-timeout", "soon"], {}, /--ready-timeout must be seconds/],
    [["--replicas", "0"], {}, /--replicas must be an integer in \[1, 8\]/],
    [["--replicas", "two"], {}, /--replicas must be an integer/],
    [["--bogus"], {}, /Unknown option '--bogus'/],
    [[], { SCOREMESH_ROUTER_PORT: "70000" }, /SCOREMESH_ROUTER_PORT: must be a port number, got "70000"/],
    [
      [],
      { SCOREMESH_ROUTER_PORT: String(DEFAULT_PORTS.feature) },
      /feature and router would both use port 50061|router and feature would both use port 50061/,
    ],
  ];
  for (const [argv, env, message] of cases) {
    assert.throws(
      () => readLaunchOptions(argv, env),
      (e: unknown) => e instanceof LaunchUsageError && message.test(e.message),
      argv.join(" ") + JSON.stringify(env),
    );
  }
});

test("--worker-labels: one label per worker, in order; a bad label is a usage error", () => {
  assert.deepEqual(readLaunchOptions([], {}).workerLabels, []);
  assert.deepEqual(readLaunchOptions(["--worker-labels", "cpu,gpu"], {}).workerLabels, ["cpu", "gpu"]);
  assert.throws(() => readLaunchOptions(["--worker-labels", "cpu,GPU"], {}), /--worker-labels must be 1 to 8 labels/);
  assert.throws(() => readLaunchOptions(["--worker-labels", "cpu,"], {}), LaunchUsageError);
});

test("--monolithic: off by default; one of each service, so --replicas and several worker labels are refused", () => {
  assert.equal(readLaunchOptions([], {}).monolithic, false);
  const o = readLaunchOptions(["--monolithic", "--port-offset", "100", "--worker-labels", "cpu"], {});
  assert.deepEqual(
    [o.monolithic, o.ports.validatorGrpc, o.workerLabels],
    [true, DEFAULT_PORTS.validatorGrpc + 100, ["cpu"]],
  );
  assert.throws(
    () => readLaunchOptions(["--monolithic", "--replicas", "2"], {}),
    /--monolithic runs one of each service/,
  );
  assert.throws(() => readLaunchOptions(["--monolithic", "--worker-labels", "cpu,gpu"], {}), /one model worker/);
});
