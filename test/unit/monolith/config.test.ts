import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MONOLITH_SERVICES, readMonolithConfig } from "../../../services/monolith/config.js";
import { ConfigError, EnvReader } from "../../../services/lib/service/index.js";

const dir = mkdtempSync(join(tmpdir(), "monolith-config-"));
const file = (name: string, content: string) => {
  const path = join(dir, name);
  writeFileSync(path, content);
  return new EnvReader({ SCOREMESH_MONOLITH_ENV_FILE: path });
};
const five = Object.fromEntries(MONOLITH_SERVICES.map((s) => [s, { LOG_LEVEL: "warn", NAME: s }]));

test("SCOREMESH_MONOLITH_ENV_FILE: each service's own environment, all five", () => {
  const { envs } = readMonolithConfig(file("ok.json", JSON.stringify(five)));
  assert.deepEqual(Object.keys(envs).sort(), [...MONOLITH_SERVICES].sort());
  assert.equal(envs.router["NAME"], "router");
});

test("a missing variable or file, bad JSON, a missing service or a non-string value stops it naming the variable", () => {
  const { monitor: _, ...four } = five;
  const cases: [EnvReader, RegExp][] = [
    [new EnvReader({}), /is required but not set/],
    [new EnvReader({ SCOREMESH_MONOLITH_ENV_FILE: join(dir, "none.json") }), /cannot read .* as JSON/],
    [file("bad.json", "{"), /cannot read .* as JSON/],
    [file("four.json", JSON.stringify(four)), /has no environment for monitor/],
    [
      file("num.json", JSON.stringify({ ...five, feature: { FEATURE_BATCHING: 1 } })),
      /feature\.FEATURE_BATCHING must be a string/,
    ],
  ];
  for (const [env, message] of cases)
    assert.throws(
      () => readMonolithConfig(env),
      (e: unknown) =>
        e instanceof ConfigError && e.variable === "SCOREMESH_MONOLITH_ENV_FILE" && message.test(e.message),
      String(message),
    );
});
