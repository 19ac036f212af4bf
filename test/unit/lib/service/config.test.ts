import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { nkeys } from "../../../../services/lib/nats/nkeys.js";
import { ConfigError, EnvReader } from "../../../../services/lib/service/config.js";
import { natsServers } from "../../../../services/lib/service/nats-config.js";
import { readConfig as featureConfig } from "../../../../services/feature/config.js";
import { readConfig as monitorConfig } from "../../../../services/monitor/config.js";
import { readConfig as routerConfig } from "../../../../services/router/config.js";
import { readConfig as validatorConfig } from "../../../../services/validator/config.js";
import { readConfig as workerConfig } from "../../../../services/model-worker/config.js";
import { PEER_ENV } from "../../../support/peer-env.js";

/** Asserts that `read` throws a ConfigError naming `name` (its message starts with it) and matching `pattern`. */
function assertConfigError(read: () => unknown, name: string, pattern: RegExp, what = name): void {
  assert.throws(
    read,
    (e: unknown) =>
      e instanceof ConfigError && e.variable === name && e.message.startsWith(`${name}:`) && pattern.test(e.message),
    what,
  );
}

test("listen addresses and settings take their defaults when unset; peers are what was set", () => {
  const c = routerConfig(new EnvReader(PEER_ENV));
  assert.equal(c.address, "127.0.0.1:50071");
  assert.deepEqual(c.workerAddrs, ["127.0.0.1:50081"]);
  assert.deepEqual(c.natsServers, ["nats://127.0.0.1:4222"]);
  assert.equal(validatorConfig(new EnvReader(PEER_ENV)).maxBatchRows, 256);
  assert.equal(featureConfig(new EnvReader(PEER_ENV)).entitySnapshotDir, "", "no snapshot folder: the repository's");
  assert.equal(monitorConfig(new EnvReader(PEER_ENV)).auditLogPath, "", "no audit log");
  assert.deepEqual(workerConfig(new EnvReader(PEER_ENV)).models, [], "every family");
});

test("ROUTER_WORKER_ADDRS takes host:port and dns:///host:port entries, and refuses an ipv4: list", () => {
  const workers = (v: string) => routerConfig(new EnvReader({ ...PEER_ENV, ROUTER_WORKER_ADDRS: v })).workerAddrs;
  assert.deepEqual(workers("dns:///model-worker-headless:50081, 10.0.0.5:50081"), [
    "dns:///model-worker-headless:50081",
    "10.0.0.5:50081",
  ]);
  assert.throws(() => workers("ipv4:10.0.0.5:50081"), /ROUTER_WORKER_ADDRS: lists workers as host:port entries/);
  assert.throws(() => workers("dns:///no-port"), /ROUTER_WORKER_ADDRS/);
  assert.equal(routerConfig(new EnvReader(PEER_ENV)).workerResolveMs, 5000);
});

test("every peer address is required: each service stops naming the one it lacks", () => {
  const cases: [(env: EnvReader) => unknown, string][] = [
    [validatorConfig, "VALIDATOR_FEATURE_ADDR"],
    [featureConfig, "FEATURE_ROUTER_ADDR"],
    [routerConfig, "ROUTER_WORKER_ADDRS"],
    [routerConfig, "ROUTER_MONITOR_ADDR"],
    [routerConfig, "NATS_URL"],
    [workerConfig, "NATS_URL"],
    [monitorConfig, "NATS_URL"],
  ];
  for (const [read, name] of cases) {
    for (const missing of [undefined, "", "  "]) {
      const env: Record<string, string | undefined> = { ...PEER_ENV, [name]: missing };
      assertConfigError(
        () => read(new EnvReader(env)),
        name,
        /is required but not set/,
        `${name}=${JSON.stringify(missing)}`,
      );
    }
  }
});

test("a malformed variable fails fast, naming the variable", () => {
  const cases: [Record<string, string>, string][] = [
    [{ ROUTER_ADDR: "localhost" }, "ROUTER_ADDR"],
    [{ ROUTER_ADDR: "h:99999" }, "ROUTER_ADDR"],
    [{ ROUTER_WORKER_ADDRS: "a:1,b" }, "ROUTER_WORKER_ADDRS"],
    [{ ROUTER_MONITOR_ADDR: "monitor" }, "ROUTER_MONITOR_ADDR"],
    [{ ROUTER_WORKER_TIMEOUT_MS: "soon" }, "ROUTER_WORKER_TIMEOUT_MS"],
    [{ ROUTER_WORKER_TIMEOUT_MS: "0" }, "ROUTER_WORKER_TIMEOUT_MS"],
  ];
  for (const [env, name] of cases)
    assertConfigError(() => routerConfig(new EnvReader({ ...PEER_ENV, ...env })), name, /./, JSON.stringify(env));
});

test("address lists: each entry host:port, none empty, none twice", () => {
  assert.deepEqual(new EnvReader({ L: " a:1 , b:2 " }).addresses("L"), ["a:1", "b:2"]);
  assert.deepEqual(new EnvReader({}).addresses("L", "a:1"), ["a:1"], "a fallback, for the few lists that may have one");
  assertConfigError(() => new EnvReader({}).addresses("L"), "L", /is required but not set/);
  assertConfigError(() => new EnvReader({ L: "a:1,,b:2" }).addresses("L"), "L", /empty entry/);
  assertConfigError(() => new EnvReader({ L: "a:1," }).addresses("L"), "L", /empty entry/);
  assertConfigError(() => new EnvReader({ L: "a:1, b:2 ,a:1" }).addresses("L"), "L", /"a:1" twice/);
  assertConfigError(() => new EnvReader({ L: "a:1,b" }).addresses("L"), "L", /must be host:port, got "b"/);
  assert.equal(new EnvReader({ A: "[::1]:80" }).address("A"), "[::1]:80");
});

test("peer targets: host:port, or dns:///host:port to balance over a name's addresses; nothing else", () => {
  assert.equal(new EnvReader({ T: "feature:50061" }).target("T"), "feature:50061");
  assert.equal(new EnvReader({ T: "dns:///feature-headless:50061" }).target("T"), "dns:///feature-headless:50061");
  assertConfigError(() => new EnvReader({ T: "dns:///feature-headless" }).target("T"), "T", /must be host:port/);
  assertConfigError(() => new EnvReader({ T: "dns://8.8.8.8/feature:1" }).target("T"), "T", /must be host:port/);
  assertConfigError(() => new EnvReader({}).target("T"), "T", /is required but not set/);
  const two = "ipv4:127.0.0.1:50061,127.0.0.1:50161";
  assert.equal(new EnvReader({ T: two }).target("T"), two);
  assertConfigError(() => new EnvReader({ T: "ipv4:feature:1" }).target("T"), "T", /IPv4 addresses only/);
  assertConfigError(() => new EnvReader({ T: "ipv4:127.0.0.1" }).target("T"), "T", /must be host:port/);
});

test("optional: undefined when unset, empty or blank, else the trimmed value", () => {
  const env = new EnvReader({ SET: " /var/audit.jsonl ", EMPTY: "", BLANK: "   " });
  assert.equal(env.optional("SET"), "/var/audit.jsonl");
  for (const name of ["UNSET", "EMPTY", "BLANK"]) assert.equal(env.optional(name), undefined, name);
  assert.deepEqual(new EnvReader({ WORKER_MODELS: "a, b" }).list("WORKER_MODELS"), ["a", "b"]);
  assert.deepEqual(new EnvReader({}).list("WORKER_MODELS"), []);
  assertConfigError(() => workerConfig(new EnvReader({ ...PEER_ENV, WORKER_MODELS: "a,a" })), "WORKER_MODELS", /twice/);
});

test("NATS_REPLICAS: read with the servers, 1 to 5", () => {
  assert.deepEqual(natsServers(new EnvReader({ NATS_URL: "nats://n:4222", NATS_REPLICAS: "3" })), ["nats://n:4222"]);
  assertConfigError(
    () => natsServers(new EnvReader({ NATS_URL: "nats://n:4222", NATS_REPLICAS: "7" })),
    "NATS_REPLICAS",
    /./,
  );
  natsServers(new EnvReader({ NATS_URL: "nats://n:4222" })); // back to the default for the other tests
});

test("NATS_URL: one reader for every service, a validated list of nats://host:port", () => {
  assert.deepEqual(natsServers(new EnvReader({ NATS_URL: "nats://10.0.0.5:4222, nats://[::1]:4223" })), [
    "nats://10.0.0.5:4222",
    "nats://[::1]:4223",
  ]);
  const bad = [
    "127.0.0.1:4222",
    "http://h:4222",
    "nats://h",
    "nats://h:70000",
    "nats://h:4222/x",
    "nats://h:1,,nats://h:2",
    "nats://h:1,nats://h:1",
  ];
  for (const v of bad) assertConfigError(() => natsServers(new EnvReader({ NATS_URL: v })), "NATS_URL", /./, v);
  assertConfigError(() => natsServers(new EnvReader({})), "NATS_URL", /is required but not set/);
});

test("a required variable without a default is reported missing by name", () => {
  assert.throws(() => new EnvReader({}).string("SOMETHING_REQUIRED"), /SOMETHING_REQUIRED: is required/);
});

test("NATS_NKEY_SEED_FILE and SCOREMESH_TRUSTED_OPERATORS_FILE: required (routers, workers, validators), read at start, a bad file named", () => {
  const dir = mkdtempSync(join(tmpdir(), "scoremesh-config-"));
  try {
    const notSeed = join(dir, "not-a-seed");
    writeFileSync(notSeed, "hello");
    const operatorSeed = join(dir, "operator.nk");
    writeFileSync(operatorSeed, new TextDecoder().decode(nkeys.createOperator().getSeed()));
    const cases: [Record<string, string | undefined>, string, RegExp][] = [
      [{ NATS_NKEY_SEED_FILE: undefined }, "NATS_NKEY_SEED_FILE", /is required but not set/],
      [{ NATS_NKEY_SEED_FILE: join(dir, "missing") }, "NATS_NKEY_SEED_FILE", /cannot read .*missing: ENOENT/],
      [{ NATS_NKEY_SEED_FILE: notSeed }, "NATS_NKEY_SEED_FILE", /does not hold an nkey user seed/],
      [{ NATS_NKEY_SEED_FILE: operatorSeed }, "NATS_NKEY_SEED_FILE", /does not hold an nkey user seed/],
      [{ SCOREMESH_TRUSTED_OPERATORS_FILE: undefined }, "SCOREMESH_TRUSTED_OPERATORS_FILE", /is required/],
      [{ SCOREMESH_TRUSTED_OPERATORS_FILE: notSeed }, "SCOREMESH_TRUSTED_OPERATORS_FILE", /not JSON/],
    ];
    for (const [vars, name, re] of cases) {
      for (const read of [routerConfig, workerConfig, validatorConfig])
        assertConfigError(() => read(new EnvReader({ ...PEER_ENV, ...vars })), name, re, JSON.stringify(vars));
    }
    // The validator checks tenants' signatures only while API keys are on.
    const noTrust = { ...PEER_ENV, SCOREMESH_TRUSTED_OPERATORS_FILE: undefined, VALIDATOR_AUTH: "off" };
    assert.equal(validatorConfig(new EnvReader(noTrust)).trustedOperators.size, 0);
    assert.equal(validatorConfig(new EnvReader(PEER_ENV)).trustedOperators.size, 1);
    assertConfigError(
      () => monitorConfig(new EnvReader({ ...PEER_ENV, NATS_NKEY_SEED_FILE: undefined })),
      "NATS_NKEY_SEED_FILE",
      /is required/,
    );
    assert.match(routerConfig(new EnvReader(PEER_ENV)).natsIdentity.publicKey, /^U/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
