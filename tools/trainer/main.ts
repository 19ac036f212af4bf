import { parseArgs } from "node:util";
import { writeArtifacts } from "./artifacts.js";
import { refreshCards } from "./card-refresh.js";
import { FAMILIES } from "./families.js";
import { defaultDataPath } from "./model-family.js";
import { trainFamily, type TrainedFamily } from "./train.js";

/**
 * npm run train [-- --model credit-default] [--data <csv>] [--out models]
 * npm run train -- card [MODEL [VERSION...]] [--data <csv>] [--out models]
 *
 * Trains every version of a model family (all families when --model is left out) and writes spec.json,
 * <version>/card.json and <version>/model.onnx into the model repository folder --out. --data defaults to
 * <out>/<model>/data/<the family's data file> (another model's data/ for a family that shares its data).
 * `card` retrains nothing: it rewrites the regulator's sections of the cards of versions already in --out
 * (intended use, limitations, data, performance per segment; see card-refresh.ts).
 */
async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    options: {
      model: { type: "string" },
      data: { type: "string" },
      out: { type: "string", default: "models" },
    },
    allowPositionals: true,
    strict: true,
  });
  const out = values.out ?? "models";
  if (positionals[0] === "card") return cards(out, positionals.slice(1), values.data);
  if (positionals.length) throw new Error(`unknown command ${positionals[0]}; known: card`);
  const names = values.model === undefined ? [...FAMILIES.keys()] : [values.model];
  if (values.data !== undefined && names.length !== 1) throw new Error("--data needs --model");

  for (const name of names) {
    const family = FAMILIES.get(name);
    if (!family) throw new Error(`unknown model ${name}; known: ${[...FAMILIES.keys()].join(", ")}`);
    const dataPath = values.data ?? defaultDataPath(out, family);
    const started = performance.now();
    const trained = await trainFamily(family, dataPath);
    const written = writeArtifacts(out, trained);
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    console.log(`${family.model}: trained ${trained.versions.length} versions on ${dataPath} in ${seconds}s`);
    printTable(trained);
    for (const path of written) console.log(`  wrote ${path}`);
    for (const v of trained.versions) {
      if (!v.converged) console.warn(`  warning: version ${v.card.version} stopped at the iteration limit`);
    }
  }
}

/** `card [MODEL [VERSION...]]`: refreshes the cards' regulator sections of every family, or one model's versions. */
async function cards(out: string, args: string[], data: string | undefined): Promise<void> {
  const [model, ...versions] = args;
  const names = model === undefined ? [...FAMILIES.keys()] : [model];
  if (data !== undefined && names.length !== 1) throw new Error("--data needs a MODEL");
  for (const name of names) {
    const family = FAMILIES.get(name);
    if (!family) throw new Error(`unknown model ${name}; known: ${[...FAMILIES.keys()].join(", ")}`);
    const done = await refreshCards(
      family,
      out,
      data ?? defaultDataPath(out, family),
      versions.length ? versions : undefined,
    );
    for (const c of done) console.log(`  ${c.changed ? "wrote" : "unchanged"} ${c.path}`);
  }
}

function printTable(trained: TrainedFamily): void {
  const header = ["version", "algorithm", "roc_auc", "ks", "log_loss", "brier", "calib_err", "review", "decline"];
  const rows = trained.versions.map(({ card }) => [
    card.version,
    card.algorithm,
    ...["roc_auc", "ks", "log_loss", "brier", "calibration_error"].map((m) => (card.metrics[m] ?? NaN).toFixed(4)),
    card.thresholds.review.toFixed(4),
    card.thresholds.decline.toFixed(4),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    "  " +
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join("  ")
      .trimEnd();
  console.log(
    `  spec ${trained.versions[0]?.card.feature_spec_hash ?? ""}, ${trained.versions[0]?.card.features.length ?? 0} columns`,
  );
  console.log(line(header));
  for (const r of rows) console.log(line(r));
}

main().catch((error: unknown) => {
  console.error(`train: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
