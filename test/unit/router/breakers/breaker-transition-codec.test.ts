import { test } from "node:test";
import assert from "node:assert/strict";
import { fromJsonString } from "@bufbuild/protobuf";
import { BreakerState, BreakerTransitionSchema } from "../../../../gen/scoremesh/breaker/v1/breaker_pb.js";
import { KvValueError } from "../../../../services/lib/nats/index.js";
import type { BreakerTransition } from "../../../../services/router/breakers/breaker-sync.js";
import { encodeTransition, parseTransition } from "../../../../services/router/breakers/breaker-transition-codec.js";

const T = "127.0.0.1:50081/credit-default/3";
const tr = (origin: string, state: BreakerTransition["state"], epoch: number, at: number): BreakerTransition => ({
  origin,
  target: T,
  state,
  epoch,
  at,
});

test("a transition round-trips as protobuf JSON of scoremesh.breaker.v1.BreakerTransition with its schema version", () => {
  for (const t of [
    tr("router-1", "OPEN", 7, 1_700_000_000_123),
    tr("router-2", "HALF_OPEN", 1, 0),
    tr("router-3", "CLOSED", 2, 1_700_000_000_000),
  ]) {
    const text = encodeTransition(t);
    assert.deepEqual(parseTransition(text), t);
    const m = fromJsonString(BreakerTransitionSchema, text);
    assert.equal(m.schemaVersion, 1);
    assert.equal(m.state, BreakerState[t.state]);
  }
  assert.match(
    encodeTransition(tr("a", "OPEN", 1, 1_700_000_000_123)),
    /"state":"BREAKER_STATE_OPEN".*"changedAt":"2023-11-14T22:13:20.123Z"/,
  );
});

test("a transition written before schema versions ({origin, target, state, epoch, at}) is upgraded on read", () => {
  assert.deepEqual(parseTransition(JSON.stringify(tr("a", "OPEN", 1, 2))), tr("a", "OPEN", 1, 2));
  assert.deepEqual(
    parseTransition(JSON.stringify(tr("b", "HALF_OPEN", 3, 1_700_000_000_000))),
    tr("b", "HALF_OPEN", 3, 1_700_000_000_000),
  );
  assert.throws(() => parseTransition(JSON.stringify({ ...tr("a", "OPEN", 1, 2), state: "AJAR" })), /unknown state/);
  assert.throws(() => parseTransition(JSON.stringify({ ...tr("a", "OPEN", 1, 2), epoch: 1.5 })), /epoch/);
  assert.throws(
    () => parseTransition(JSON.stringify({ ...tr("a", "OPEN", 1, 2), origin: 7 })),
    /origin and target must be strings/,
  );
  assert.throws(() => parseTransition(JSON.stringify({ ...tr("a", "OPEN", 1, 2), at: "now" })), /at a number/);
});

test("malformed transitions are refused with a KvValueError that says what is wrong", () => {
  const current = JSON.parse(encodeTransition(tr("a", "OPEN", 1, 2))) as Record<string, unknown>;
  const refuses = (text: string, why: RegExp) =>
    assert.throws(
      () => parseTransition(text),
      (err: unknown) => err instanceof KvValueError && why.test(err.message),
      why.source,
    );
  refuses("{", /^breaker transition: not JSON/);
  refuses("null", /not a JSON object/);
  refuses(JSON.stringify({ ...current, state: "OPEN" }), /state/);
  refuses(JSON.stringify({ ...current, state: "BREAKER_STATE_UNSPECIFIED" }), /unknown state 0/);
  refuses(JSON.stringify({ ...current, state: 9 }), /unknown state 9/);
  refuses(JSON.stringify({ ...current, epoch: -1 }), /epoch/);
  refuses(JSON.stringify({ ...current, target: "" }), /origin and target must not be empty/);
  refuses(JSON.stringify({ ...current, changedAt: undefined }), /changedAt is required/);
  refuses(JSON.stringify({ ...current, schemaVersion: 3 }), /schema version 3/);
});
