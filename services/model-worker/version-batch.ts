import * as ort from "onnxruntime-node";
import { Code, ConnectError } from "@connectrpc/connect";
import { joinMatrices, joinSplit, sliceRows, type QueuedRequest } from "../lib/batching/index.js";
import type { LoadedVersion, OutputArray, OutputTensor } from "./loaded-version.js";

/** ONNX Runtime tensor types and their OIP v2 datatypes. */
const OIP_DATATYPE: Record<string, string> = { float32: "FP32", float64: "FP64", int32: "INT32", int64: "INT64" };

/**
 * One model execution for the requests of a batch: their rows joined into one input matrix, and each request
 * gets its rows of every output. Times the queue, the run and the split in the version's statistics.
 */
export async function runVersionBatch(
  lv: LoadedVersion,
  batch: QueuedRequest<Float32Array>[],
): Promise<OutputTensor[][]> {
  const t0 = performance.now();
  for (const r of batch) lv.stats.queue.add(t0 - r.enqueuedAt);
  let t1 = t0;
  let t2 = t0;
  let rowsRun = 0;
  const results = await joinSplit<Float32Array, Float32Array, OutputTensor[], OutputTensor[]>(batch, {
    join: joinMatrices,
    async call(data, rows) {
      rowsRun = rows;
      const feeds = { [lv.inputName]: new ort.Tensor("float32", data, [rows, lv.cols]) };
      t1 = performance.now();
      const out = await lv.session.run(feeds, lv.outputNames);
      t2 = performance.now();
      return modelOutputs(lv, out, rows);
    },
    split: (outputs, slice) => outputs.map((o) => ({ ...o, data: sliceRows(o.data, slice, o.width) })),
  });
  lv.stats.executed(rowsRun, batch.length, t1 - t0, t2 - t1, performance.now() - t2);
  return results;
}

/** The version's outputs of one run, in the card's order, as OIP v2 tensors of `rows` rows. */
function modelOutputs(lv: LoadedVersion, out: ort.InferenceSession.ReturnType, rows: number): OutputTensor[] {
  return lv.outputNames.map((name) => {
    const t = out[name];
    if (!t) throw new ConnectError(`model output ${name} missing`, Code.Internal);
    const datatype = OIP_DATATYPE[t.type];
    if (!datatype)
      throw new ConnectError(`model output ${name} has type ${t.type}, which the worker cannot return`, Code.Internal);
    return { name, datatype, width: t.data.length / rows, data: t.data as OutputArray };
  });
}

/** One request run alone, without the batcher (batching off). */
export async function runAlone(
  lv: LoadedVersion,
  data: Float32Array,
  rows: number,
  enqueuedAt: number,
): Promise<OutputTensor[]> {
  const part: QueuedRequest<Float32Array> = { input: data, rows, enqueuedAt };
  return (await runVersionBatch(lv, [part]))[0]!;
}
