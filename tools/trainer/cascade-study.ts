import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { InferenceSession, Tensor } from "onnxruntime-node";
import type { ModelCard } from "../../services/lib/model/index.js";
import { cascadeOutcome, fitBand, type CascadeArm } from "./cascade-curve.js";
import { TREES_5 } from "./credit-default.js";
import { FAMILIES } from "./families.js";
import { describeTrees, fitGradientBoosting, type GradientBoostingOptions } from "./gradient-boosting.js";
import type { Matrix } from "./matrix.js";
import { quantile, rocAuc } from "./metrics.js";
import { defaultDataPath } from "./model-family.js";
import { treeEnsembleOnnx } from "./onnx-export.js";
import { scoreWithOnnx } from "./onnx-scorer.js";
import { prepareFamilyData } from "./train.js";

/** Small tree ensembles tried as the cascade's light model next to the shipped versions (5 is TREES_5). */
const CANDIDATES: Required<GradientBoostingOptions>[] = [
  { ...TREES_5, rounds: 20, learningRate: 0.3 },
  { ...TREES_5, rounds: 60, learningRate: 0.15, maxDepth: 2 },
];

const SHARES = [0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5];

interface Light {
  name: string;
  onnx: Uint8Array;
  arm: CascadeArm;
}

/**
 * node dist/tools/trainer/cascade-study.js [--model credit-default] [--heavy 3] [--light 1,4,5] [--out models]
 *
 * The light → heavy cascade on the holdout rows: for each light model (shipped versions and small tree
 * ensembles trained here) and each heavy share, the uncertainty band fitted on one half of the holdout and
 * measured on the other: heavy share, decision agreement with heavy-only, ROC AUC, and the ONNX Runtime CPU
 * time per 1,000 decisions (one row per run, as a lone request costs).
 */
async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      model: { type: "string", default: "credit-default" },
      heavy: { type: "string", default: "3" },
      light: { type: "string", default: "1,4,5" },
      out: { type: "string", default: "models" },
    },
  });
  const family = FAMILIES.get(values.model);
  if (!family) throw new Error(`unknown model ${values.model}`);
  const data = prepareFamilyData(family, defaultDataPath(values.out, family));
  const versionDir = (v: string) => join(values.out, family.model, v);
  const shipped = async (v: string): Promise<Light> => {
    const onnx = readFileSync(join(versionDir(v), "model.onnx"));
    const card = JSON.parse(readFileSync(join(versionDir(v), "card.json"), "utf8")) as ModelCard;
    return {
      name: `v${v}`,
      onnx,
      arm: { scores: await scoreWithOnnx(onnx, data.xHoldout), thresholds: card.thresholds },
    };
  };
  const heavy = await shipped(values.heavy);
  const lights = [
    ...(await Promise.all(values.light.split(",").map(shipped))),
    ...(await trainCandidates(data, family.thresholdQuantiles)),
  ];

  const n = data.yHoldout.length;
  const fitRows = Array.from({ length: Math.floor(n / 2) }, (_, i) => i);
  const testRows = Array.from({ length: n - fitRows.length }, (_, i) => fitRows.length + i);
  const heavyOnly = cascadeOutcome(heavy.arm, heavy.arm, data.yHoldout, { low: -Infinity, high: Infinity }, testRows);
  const heavyUs = await cpuMicrosPerRow(heavy.onnx, data.xHoldout);
  console.log(
    `heavy ${heavy.name}: AUC ${heavyOnly.auc.toFixed(4)} on the ${testRows.length} test rows, ${heavyUs.toFixed(1)} µs/row`,
  );
  for (const light of lights) {
    const lightUs = await cpuMicrosPerRow(light.onnx, data.xHoldout);
    const alone = rocAuc(
      testRows.map((i) => light.arm.scores[i]!),
      testRows.map((i) => data.yHoldout[i]!),
    );
    console.log(`\nlight ${light.name}: AUC alone ${alone.toFixed(4)}, ${lightUs.toFixed(1)} µs/row`);
    console.log(
      "  share  band                 heavy%  agree%   AUC     ΔAUC     CPU ms/1000 (heavy-only " +
        heavyUs.toFixed(0) +
        ")",
    );
    for (const share of SHARES) {
      const band = fitBand(light.arm, heavy.arm, data.yHoldout, share, fitRows);
      const p = cascadeOutcome(light.arm, heavy.arm, data.yHoldout, band, testRows);
      const cpu = lightUs + p.heavyShare * heavyUs;
      console.log(
        `  ${share.toFixed(2)}   [${band.low.toFixed(4)}, ${band.high.toFixed(4)})  ${(100 * p.heavyShare).toFixed(1).padStart(5)}  ${(100 * p.agreement).toFixed(2)}  ${p.auc.toFixed(4)}  ${(p.auc - heavyOnly.auc).toFixed(4)}  ${cpu.toFixed(0)}`,
      );
    }
  }
}

async function trainCandidates(
  data: ReturnType<typeof prepareFamilyData>,
  q: { review: number; decline: number },
): Promise<Light[]> {
  const out: Light[] = [];
  for (const options of CANDIDATES) {
    const ensemble = fitGradientBoosting(data.xTrain, data.yTrain, options);
    const onnx = treeEnsembleOnnx({
      graphName: "candidate",
      modelVersion: 0n,
      inputDoc: "features",
      docString: describeTrees(options),
      metadata: {},
      ensemble,
      features: data.columns.length,
    });
    const scores = await scoreWithOnnx(onnx, data.xHoldout);
    const thresholds = { review: quantile(scores, q.review), decline: quantile(scores, q.decline) };
    out.push({ name: describeTrees(options), onnx, arm: { scores, thresholds } });
  }
  return out;
}

/** ONNX Runtime time per row when each row is its own run (a lone request), over 2,000 rows after warm-up. */
async function cpuMicrosPerRow(onnx: Uint8Array, x: Matrix & { data: Float32Array }): Promise<number> {
  const session = await InferenceSession.create(onnx, { intraOpNumThreads: 1, logSeverityLevel: 3 });
  const row = (i: number) => new Tensor("float32", x.data.slice(i * x.cols, (i + 1) * x.cols), [1, x.cols]);
  for (let i = 0; i < 200; i++) await session.run({ features: row(i) });
  const rows = 2000;
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < rows; i++) await session.run({ features: row(i % x.rows) });
  const cpu = process.cpuUsage(cpu0);
  await session.release();
  return (cpu.user + cpu.system) / rows;
}

main().catch((error: unknown) => {
  console.error(`cascade-study: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
