import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import { GRPCInferenceService } from "../../gen/inference/grpc_predict_v2_pb.js";
import type { ModelRegistry } from "./model-registry.js";
import { floatBytes } from "../lib/tensor-bytes.js";
import { readFloatMatrix } from "./tensors.js";

export const SERVER_NAME = "scoremesh-model-worker";
export const SERVER_VERSION = "0.1.0";

/** The KServe Open Inference Protocol v2 over the worker's model registry. */
export function inferenceRoutes(
  registry: ModelRegistry,
  isReady: () => boolean,
): Partial<ServiceImpl<typeof GRPCInferenceService>> {
  return {
    serverLive: () => ({ live: true }),
    serverReady: () => ({ ready: isReady() }),
    modelReady: (req) => ({ ready: registry.isReady(req.name, req.version) }),
    serverMetadata: () => ({ name: SERVER_NAME, version: SERVER_VERSION, extensions: [] }),
    modelMetadata(req) {
      const lv = registry.resolve(req.name, req.version);
      return {
        name: lv.model,
        versions: registry
          .list()
          .filter((x) => x.model === lv.model)
          .map((x) => x.version)
          .sort((a, b) => Number(a) - Number(b)),
        platform: "onnxruntime_onnx",
        inputs: lv.card.onnx.inputs.map((t) => ({ name: t.name, datatype: t.datatype, shape: t.shape.map(BigInt) })),
        outputs: lv.card.onnx.outputs.map((t) => ({ name: t.name, datatype: t.datatype, shape: t.shape.map(BigInt) })),
      };
    },
    async modelInfer(req, ctx) {
      const lv = registry.resolve(req.modelName, req.modelVersion);
      if (!lv.ready) throw new ConnectError(`model ${lv.model} version ${lv.version} is not ready`, Code.Unavailable);
      if (req.inputs.length !== 1) {
        throw new ConnectError(`model ${lv.model} takes 1 input (${lv.inputName}), got ${req.inputs.length}`, Code.InvalidArgument);
      }
      const input = req.inputs[0]!;
      if (input.name !== lv.inputName) {
        throw new ConnectError(`unknown input ${JSON.stringify(input.name)}; the model's input is ${lv.inputName}`, Code.InvalidArgument);
      }
      const useRaw = req.rawInputContents.length > 0;
      if (useRaw && req.rawInputContents.length !== req.inputs.length) {
        throw new ConnectError("raw_input_contents must have one entry per input", Code.InvalidArgument);
      }
      for (const o of req.outputs) {
        if (o.name !== lv.outputName) {
          throw new ConnectError(`unknown output ${JSON.stringify(o.name)}; the model's output is ${lv.outputName}`, Code.InvalidArgument);
        }
      }
      const { data, rows } = readFloatMatrix(input, useRaw ? req.rawInputContents[0] : undefined, lv.cols);
      if (ctx.signal.aborted) throw new ConnectError("the caller has gone", Code.Canceled);
      const scores = await registry.run(lv, data, rows);
      const out = lv.card.onnx.outputs.find((o) => o.name === lv.outputName);
      const shape = [BigInt(rows), ...(out?.shape.slice(1) ?? [1]).map(BigInt)];
      return {
        modelName: lv.model,
        modelVersion: lv.version,
        id: req.id,
        outputs: [
          {
            name: lv.outputName,
            datatype: "FP32",
            shape,
            contents: useRaw ? undefined : { fp32Contents: Array.from(scores) },
          },
        ],
        rawOutputContents: useRaw ? [floatBytes(scores)] : [],
      };
    },
  };
}
