import { Code, ConnectError } from "@connectrpc/connect";
import type { RouteRequest } from "../../../gen/scoremesh/router/v1/router_pb.js";
import type { Champion } from "./champion-card.js";

/**
 * Packs the request's feature vectors into one row-major [rows, features] matrix, the tensor a model worker
 * takes; refuses (INVALID_ARGUMENT) a row whose length is not the champion's feature count.
 */
export function featureMatrix(req: RouteRequest, { version, card }: Champion): Float32Array {
  const cols = card.features.length;
  const matrix = new Float32Array(req.rows.length * cols);
  for (let i = 0; i < req.rows.length; i++) {
    const f = req.rows[i]!.features;
    if (f.length !== cols) {
      throw new ConnectError(
        `row ${i}: ${f.length} features, ${req.model} version ${version} takes ${cols}`,
        Code.InvalidArgument,
      );
    }
    matrix.set(f, i * cols);
  }
  return matrix;
}
