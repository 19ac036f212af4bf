import { create, type JsonObject } from "@bufbuild/protobuf";
import { timestampFromMs, timestampMs } from "@bufbuild/protobuf/wkt";
import {
  BreakerState as WireState,
  BreakerTransitionSchema,
  type BreakerTransition as BreakerTransitionMessage,
} from "../../../gen/scoremesh/breaker/v1/breaker_pb.js";
import { kvCodec } from "../../lib/nats/index.js";
import type { BreakerTransition } from "./breaker-sync.js";
import type { BreakerState } from "./circuit-breaker.js";

/** The schema version of the transitions this build writes (scoremesh.breaker.v1.BreakerTransition.schema_version). */
export const BREAKER_TRANSITION_SCHEMA_VERSION = 1;

const WIRE_STATE: Record<BreakerState, WireState> = {
  CLOSED: WireState.CLOSED,
  OPEN: WireState.OPEN,
  HALF_OPEN: WireState.HALF_OPEN,
};
const STATE = new Map(Object.entries(WIRE_STATE).map(([state, wire]) => [wire, state as BreakerState]));

const transitionCodec = kvCodec({
  what: "breaker transition",
  schema: BreakerTransitionSchema,
  version: BREAKER_TRANSITION_SCHEMA_VERSION,
  upgrade: (legacy) => toMessage(parseLegacyTransition(legacy)),
  problem: transitionProblem,
});

/** Protobuf JSON of a transition, as the breaker bucket keeps it. */
export function encodeTransition(t: BreakerTransition): string {
  return transitionCodec.encode(toMessage(t));
}

/** Parses a shared transition (any schema version this build reads), or throws `KvValueError` naming what is wrong. */
export function parseTransition(json: string): BreakerTransition {
  const m = transitionCodec.decode(json);
  return {
    origin: m.origin,
    target: m.target,
    state: STATE.get(m.state)!,
    epoch: m.epoch,
    at: timestampMs(m.changedAt!),
  };
}

function toMessage(t: BreakerTransition): BreakerTransitionMessage {
  return create(BreakerTransitionSchema, {
    origin: t.origin,
    target: t.target,
    state: WIRE_STATE[t.state],
    epoch: t.epoch,
    changedAt: timestampFromMs(Math.round(t.at)),
    schemaVersion: BREAKER_TRANSITION_SCHEMA_VERSION,
  });
}

function transitionProblem(m: BreakerTransitionMessage): string | undefined {
  if (!m.origin || !m.target) return "origin and target must not be empty";
  if (!STATE.has(m.state)) return `unknown state ${m.state}`;
  if (!m.changedAt) return "changedAt is required";
  return undefined;
}

/** Reads a transition written before schema versions: `{origin, target, state, epoch, at}` with `at` in ms. */
function parseLegacyTransition(v: JsonObject): BreakerTransition {
  const { origin, target, state, epoch, at } = v;
  if (typeof origin !== "string" || typeof target !== "string") throw new Error("origin and target must be strings");
  if (state !== "CLOSED" && state !== "OPEN" && state !== "HALF_OPEN")
    throw new Error(`unknown state ${JSON.stringify(state)}`);
  if (
    typeof epoch !== "number" ||
    !Number.isInteger(epoch) ||
    epoch < 0 ||
    epoch > 0xffffffff ||
    typeof at !== "number"
  ) {
    throw new Error("epoch must be a non-negative integer and at a number");
  }
  return { origin, target, state, epoch, at };
}
