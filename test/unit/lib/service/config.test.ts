import { test } from "node:test";
import assert from "node:assert/strict";
import { ConfigError, EnvReader } from "../../../../services/lib/service/config.js";
import { readConfig as routerConfig } from "../../../../services/router/config.js";
import { readConfig as validatorConfig } from "../../../../services/validator/config.js";

test("defaults apply when variables are unset", () => {
  const c = routerConfig(new EnvReader({}));
  assert.equal(c.address, "127.0.0.1:50071");
  assert.deepEqual(c.workerAddrs, ["127.0.0.1:50081"]);
  assert.equal(validatorConfig(new EnvReader({})).maxBatchRows, 256);
});

test("a malformed variable fails fast, naming the variable", () => {
  const cases: [Record<string, string>, string][] = [
    [{ ROUTER_ADDR: "localhost" }, "ROUTER_ADDR"],
    [{ ROUTER_ADDR: "h:99999" }, "ROUTER_ADDR"],
    [{ ROUTER_WORKER_ADDRS: "a:1,b" }, "ROUTER_WORKER_ADDRS"],
    [{ ROUTER_WORKER_TIMEOUT_MS: "soon" }, "ROUTER_WORKER_TIMEOUT_MS"],
    [{ ROUTER_WORKER_TIMEOUT_MS: "0" }, "ROUTER_WORKER_TIMEOUT_MS"],
  ];
  for (const [env, name] of cases) {
    assert.throws(
      () => routerConfig(new EnvReader(env)),
      (e: unknown) => e instanceof ConfigError && e.variable === name && e.message.startsWith(`${name}:`),
      JSON.stringify(env),
    );
  }
});

test("a required variable without a default is reported missing by name", () => {
  assert.throws(() => new EnvReader({}).string("SOMETHING_REQUIRED"), /SOMETHING_REQUIRED: is required/);
  assert.deepEqual(new EnvReader({ L: " a:1 , b:2 " }).addresses("L"), ["a:1", "b:2"]);
  assert.equal(new EnvReader({ A: "[::1]:80" }).address("A"), "[::1]:80");
});
