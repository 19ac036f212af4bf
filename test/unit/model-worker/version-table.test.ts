import { test } from "node:test";
import assert from "node:assert/strict";
import { Code, ConnectError } from "@connectrpc/connect";
import type { LoadedVersion } from "../../../services/model-worker/loaded-version.js";
import { VersionTable } from "../../../services/model-worker/version-table.js";

const version = (model: string, v: string) => ({ model, version: v, ready: true }) as LoadedVersion;
const codeOf = (fn: () => unknown) => {
  try {
    fn();
    return "resolved";
  } catch (e) {
    return Code[ConnectError.from(e).code];
  }
};

test("a request names its version, or gets the champion; an unknown model or version is NOT_FOUND", () => {
  const table = new VersionTable(new Map());
  table.add(version("m", "1"));
  table.add(version("m", "2"));
  assert.equal(table.resolve("m", "2").version, "2");
  table.champions.set("m", "1");
  assert.equal(table.resolve("m", "").version, "1");
  assert.equal(
    codeOf(() => table.resolve("m", "7")),
    "NotFound",
  );
  assert.match(
    codeOf(() => table.resolve("other", "1")),
    /NotFound/,
  );
  assert.throws(() => table.resolve("m", "7"), /loaded: 1, 2/);
  assert.deepEqual(
    table.list().map((v) => v.version),
    ["1", "2"],
  );
});

test("a version the skew guard refused is FAILED_PRECONDITION with the guard's reason", () => {
  const table = new VersionTable(new Map([["m/3", "m version 3 was trained with feature spec aaa"]]));
  table.add(version("m", "1"));
  assert.equal(
    codeOf(() => table.resolve("m", "3")),
    "FailedPrecondition",
  );
  assert.throws(() => table.resolve("m", "3"), /trained with feature spec aaa/);
  table.champions.set("m", "3");
  assert.equal(
    codeOf(() => table.resolve("m", "")),
    "FailedPrecondition",
    "a refused champion too",
  );
});
