import { create, toBinary } from "@bufbuild/protobuf";
import { ScoreRequestSchema } from "../../gen/scoremesh/scoring/v1/scoring_pb.js";
import { CREDIT_INPUTS } from "../support/credit-data.js";

/** mulberry32: a small seeded PRNG, so that a failing input can be generated again from the seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class Gen {
  constructor(readonly rnd: () => number) {}
  int(n: number): number {
    return Math.floor(this.rnd() * n);
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }
  bytes(n: number): Uint8Array {
    return Uint8Array.from({ length: n }, () => this.int(256));
  }
  /** Text with awkward code points: controls, lone surrogates, RTL marks, emoji, combining marks. */
  unicode(n: number): string {
    const pool = [0, 0x7, 0x1f, 0x7f, 0xd800, 0xdfff, 0x202e, 0x200b, 0xfeff, 0x1f600, 0x301, 0x10ffff, 0x41, 0x4e2d];
    let s = "";
    for (let i = 0; i < n; i++) s += String.fromCodePoint(this.rnd() < 0.5 ? this.pick(pool) : 32 + this.int(0x2000));
    return s;
  }
  /** A value of a wrong or extreme kind for a numeric field. */
  badValue(): unknown {
    return this.pick<() => unknown>([
      () => "12",
      () => null,
      () => true,
      () => [],
      () => ({ v: 1 }),
      () => 1e308,
      () => -1e308,
      () => Number.MAX_SAFE_INTEGER * 1024,
      () => this.unicode(8),
      () => "NaN",
      () => 5e-324,
    ])();
  }
}

const FIELDS = Object.keys(CREDIT_INPUTS);

/** A JSON ScoreRequest with one or more things wrong (a string, since some are not valid JSON). */
export function badJsonBody(g: Gen): string {
  const inputs: Record<string, unknown> = { ...CREDIT_INPUTS };
  const valid = JSON.stringify({ model: "credit-default", inputs });
  switch (g.int(10)) {
    case 0: // truncated JSON
      return valid.slice(0, g.int(valid.length));
    case 1: // a wrong value for a field
      inputs[g.pick(FIELDS)] = g.badValue();
      return JSON.stringify({ model: "credit-default", inputs });
    case 2: // huge numbers, written out (1e400 parses to Infinity)
      return valid.replace(/"AGE":\d+/, `"AGE":${g.pick(["1e400", "-1e400", "9".repeat(400), "1e-400"])}`);
    case 3: // unicode in names and ids
      return JSON.stringify({ model: g.unicode(12), requestId: g.unicode(40), inputs: { [g.unicode(6)]: 1 } });
    case 4: // deep nesting
      return `{"model":"credit-default","inputs":${"[".repeat(2000 + g.int(50_000))}`;
    case 5: // wrong types at the top
      return JSON.stringify(
        g.pick([[], 1, "x", null, { model: 1 }, { inputs: [] }, { model: "credit-default", inputs: 7 }]),
      );
    case 6: // unknown fields and duplicate keys
      return valid.replace("{", `{"${g.unicode(4)}":1,"model":"x",`);
    case 7: // random bytes
      return Buffer.from(g.bytes(1 + g.int(200))).toString("latin1");
    case 8: // many fields
      return JSON.stringify({
        model: "credit-default",
        inputs: Object.fromEntries(Array.from({ length: 2000 }, (_, i) => [`F${i}`, i])),
      });
    default: // a batch with wrong rows
      return JSON.stringify({
        requests: Array.from({ length: g.int(400) }, () => ({
          model: g.pick(["credit-default", "", "x"]),
          inputs: { AGE: g.badValue() },
        })),
      });
  }
}

/** A valid serialized ScoreRequest, then mutated: bit flips, cuts, inserted or repeated bytes; or random bytes. */
export function badProtobuf(g: Gen): Uint8Array {
  const valid = toBinary(
    ScoreRequestSchema,
    create(ScoreRequestSchema, { model: "credit-default", inputs: { ...CREDIT_INPUTS }, requestId: "r1" }),
  );
  const b = Uint8Array.from(valid);
  switch (g.int(5)) {
    case 0:
      for (let i = 0, n = 1 + g.int(8); i < n; i++) b[g.int(b.length)]! ^= 1 << g.int(8);
      return b;
    case 1:
      return b.slice(0, g.int(b.length));
    case 2: {
      const at = g.int(b.length);
      return Uint8Array.from([...b.slice(0, at), ...g.bytes(1 + g.int(16)), ...b.slice(at)]);
    }
    case 3: // a field tag with a huge length, or a varint that never ends
      return Uint8Array.from([...b.slice(0, g.int(b.length)), 0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, ...g.bytes(4)]);
    default:
      return g.bytes(g.int(300));
  }
}

/** An OIP v2 ModelInferRequest (init shape) with a wrong shape, datatype, size, name or raw content length. */
export function badInfer(g: Gen, cols: number) {
  const rows = 1 + g.int(4);
  const datatype = g.pick(["FP32", "FP64", "INT32", "INT64", "BYTES", "BOOL", "FP16", "", g.unicode(3)]);
  const shape = g.pick([
    [rows, cols],
    [rows, cols + 1],
    [0, cols],
    [-1, cols],
    [rows],
    [rows, cols, 1],
    [],
    [2 ** 40, cols],
    [rows, 2 ** 31],
  ]);
  const n = Math.max(0, rows * cols + g.pick([0, 0, -1, 1, 1000]));
  const values = Array.from({ length: n }, () => g.pick([0.5, -1, 1e38, NaN, Infinity, 3]));
  const contents = g.pick([
    { fp32Contents: values },
    { fp64Contents: values },
    { intContents: values.map((v) => (Number.isFinite(v) ? Math.trunc(v) | 0 : 0)) },
    { int64Contents: values.map((v) => BigInt(Number.isFinite(v) ? Math.trunc(Math.min(v, 1e15)) : 0)) },
    {},
  ]);
  const raw = g.rnd() < 0.4 ? [g.bytes(g.pick([0, 3, n * 4, n * 8, n * 4 + 1]))] : [];
  return {
    modelName: g.rnd() < 0.8 ? g.pick(["credit-default", "late-payment"]) : g.pick(["", "nope", g.unicode(10)]),
    modelVersion: g.rnd() < 0.7 ? "" : g.pick(["1", "999", "-1", g.unicode(3)]),
    id: g.unicode(4),
    inputs: Array.from({ length: g.pick([1, 1, 1, 0, 2]) }, () => ({
      name: g.rnd() < 0.7 ? "features" : g.pick(["input", "", g.unicode(5)]),
      datatype,
      shape: shape.map((x) => BigInt(x)),
      ...(raw.length ? {} : { contents }),
    })),
    outputs: g.rnd() < 0.3 ? [{ name: g.pick(["probabilities", "label", "x", ""]) }] : [],
    rawInputContents: raw.length && g.rnd() < 0.2 ? [...raw, ...raw] : raw,
  };
}
