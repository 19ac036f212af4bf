#!/usr/bin/python3
"""A Python client of scoremesh, written only against the .proto files in proto/.

The Python modules are generated at test time by protoc (see test/support/python-client.ts):

  protoc -I proto -I /usr/include --python_out=GEN --grpc_python_out=GEN \
      --plugin=protoc-gen-grpc_python=/usr/bin/grpc_python_plugin \
      proto/scoremesh/scoring/v1/scoring.proto proto/inference/grpc_predict_v2.proto proto/google/rpc/*.proto

and the client uses them unmodified. It needs only the Debian packages python3-grpcio and python3-protobuf
(no numpy). Every mode prints one JSON document on stdout; a failure of the client itself exits non-zero
with a message on stderr.

Modes:
  score    Calls scoremesh.scoring.v1.ScoringService/Score on the validator once per ScoreRequest of a JSON list
           (stdin or --file) and prints a JSON list: the ScoreResponse as protobuf JSON (the field names meshctl
           prints), or {"error": {...}} with the gRPC status and the google.rpc.BadRequest field violations.
  oip      Calls the model worker's inference.GRPCInferenceService over mutual TLS (--ca, --cert, --key) (KServe Open Inference Protocol v2):
           ServerLive, ServerReady, ServerMetadata, and for each version ModelReady, ModelMetadata and ModelInfer
           twice (typed fp32_contents, then raw little-endian float32 bytes), with feature vectors built here
           from the model's spec.json, for rows of raw inputs given as a JSON list (stdin or --file); then
           FP64 (typed, raw) and INT64 (typed, raw; the features rounded) inputs asking for the score output by
           name, a request for an output the model lacks, and ModelStatistics. Prints the feature vectors too,
           so that the caller can check every answer against its own ONNX Runtime run.
  invalid  Sends one Score request that must be refused (AGE = 300 and an unknown field, on top of the request
           given with --file, or of a built-in valid one) and prints the gRPC status code and the
           BadRequest field violations decoded from the grpc-status-details-bin trailer.

The validator asks every call for an API key: score and invalid send "authorization: Bearer <key>" metadata with
the key in the environment variable SCOREMESH_API_KEY (npm start writes one to .scoremesh/dev-api-key).

Usage:
  score_client.py --gen DIR score   --addr HOST:PORT [--file REQUESTS.json]
  score_client.py --gen DIR oip     --addr HOST:PORT --spec models/credit-default/spec.json
                                    [--model credit-default] [--versions 1,2] [--file ROWS.json]
                                    [--ca ca.pem --cert client.pem --key client-key.pem]
  score_client.py --gen DIR invalid --addr HOST:PORT [--file REQUEST.json]
"""

import argparse
import json
import math
import os
import struct
import sys

DEFAULT_TIMEOUT_S = 5.0
STATUS_DETAILS_KEY = "grpc-status-details-bin"

# A valid credit-default request (deploy/local/example-request.json), the base of the invalid one.
EXAMPLE_REQUEST = {
    "model": "credit-default",
    "inputs": {
        "LIMIT_BAL": 20000, "SEX": 1, "EDUCATION": 2, "MARRIAGE": 1, "AGE": 34,
        "PAY_0": 0, "PAY_2": 0, "PAY_3": 0, "PAY_4": 0, "PAY_5": 0, "PAY_6": 0,
        "BILL_AMT1": 2799, "BILL_AMT2": 2164, "BILL_AMT3": 1854, "BILL_AMT4": 3296, "BILL_AMT5": 3435,
        "BILL_AMT6": 4435, "PAY_AMT1": 2005, "PAY_AMT2": 1200, "PAY_AMT3": 1500, "PAY_AMT4": 300,
        "PAY_AMT5": 1000, "PAY_AMT6": 95,
    },
}


def fail(msg):
    print(f"score_client.py: {msg}", file=sys.stderr)
    sys.exit(1)


def load_generated(gen_dir):
    """Imports grpc and the modules protoc generated into gen_dir."""
    # gen_dir holds google/rpc/*; the installed google.protobuf is a namespace package, so both are found.
    sys.path.insert(0, gen_dir)
    try:
        import grpc  # noqa: F401
    except ImportError as e:
        fail(f"cannot import grpc ({e}); install the Debian package python3-grpcio")
    try:
        from google.protobuf import json_format  # noqa: F401
        from google.rpc import error_details_pb2, status_pb2
        from inference import grpc_predict_v2_pb2, grpc_predict_v2_pb2_grpc
        from scoremesh.scoring.v1 import scoring_pb2, scoring_pb2_grpc
    except ImportError as e:
        fail(f"cannot import the generated modules from {gen_dir} ({e}); run protoc first")
    return {
        "error_details_pb2": error_details_pb2,
        "status_pb2": status_pb2,
        "grpc_predict_v2_pb2": grpc_predict_v2_pb2,
        "grpc_predict_v2_pb2_grpc": grpc_predict_v2_pb2_grpc,
        "scoring_pb2": scoring_pb2,
        "scoring_pb2_grpc": scoring_pb2_grpc,
    }


def read_json(path):
    try:
        if path:
            with open(path, encoding="utf-8") as f:
                return json.load(f)
        return json.load(sys.stdin)
    except (OSError, ValueError) as e:
        fail(f"cannot read JSON from {path or 'stdin'}: {e}")


def to_dict(message):
    from google.protobuf import json_format

    # Protobuf JSON field names (lowerCamelCase), as meshctl and every other protobuf JSON printer writes them.
    return json_format.MessageToDict(message, preserving_proto_field_name=False)


# (ca.pem, client-key.pem, client.pem) paths from --ca/--key/--cert: mutual TLS; None: plaintext.
CHANNEL_TLS = None


def open_channel(addr):
    """A channel to addr: mutual TLS with the client certificate when --ca/--cert/--key were given."""
    import grpc

    if CHANNEL_TLS is None:
        channel = grpc.insecure_channel(addr)
    else:
        ca, key, cert = (open(path, "rb").read() for path in CHANNEL_TLS)
        creds = grpc.ssl_channel_credentials(root_certificates=ca, private_key=key, certificate_chain=cert)
        channel = grpc.secure_channel(addr, creds)
    try:
        grpc.channel_ready_future(channel).result(timeout=DEFAULT_TIMEOUT_S)
    except grpc.FutureTimeoutError:
        channel.close()
        fail(f"cannot connect to {addr} within {DEFAULT_TIMEOUT_S} s")
    return channel


def rpc_error(err, m):
    """The gRPC status of a failed call and the google.rpc.BadRequest violations of its details trailer."""
    code = err.code()
    out = {
        "code": code.name,
        "code_number": code.value[0],
        "message": err.details(),
        "violations": [],
    }
    for key, value in err.trailing_metadata() or ():
        if key != STATUS_DETAILS_KEY:
            continue
        status = m["status_pb2"].Status.FromString(value)
        out["status"] = {"code": status.code, "message": status.message, "detail_types": [d.type_url for d in status.details]}
        for detail in status.details:
            bad_request = m["error_details_pb2"].BadRequest()
            if detail.Is(bad_request.DESCRIPTOR):
                detail.Unpack(bad_request)
                out["violations"].extend(
                    {"field": v.field, "reason": v.reason, "description": v.description}
                    for v in bad_request.field_violations
                )
    return out


def auth_metadata():
    """The API key's metadata for the validator, from SCOREMESH_API_KEY (none when unset)."""
    key = os.environ.get("SCOREMESH_API_KEY", "")
    return (("authorization", f"Bearer {key}"),) if key else ()


def score_requests(addr, requests, m):
    import grpc
    from google.protobuf import json_format

    if not isinstance(requests, list):
        requests = [requests]
    channel = open_channel(addr)
    try:
        stub = m["scoring_pb2_grpc"].ScoringServiceStub(channel)
        results = []
        for r in requests:
            req = json_format.ParseDict(r, m["scoring_pb2"].ScoreRequest())
            try:
                results.append(to_dict(stub.Score(req, timeout=DEFAULT_TIMEOUT_S, metadata=auth_metadata())))
            except grpc.RpcError as e:
                results.append({"error": rpc_error(e, m)})
        return results
    finally:
        channel.close()


def source_value(source, inputs):
    """The raw value of a feature's source, or None when it is missing (entity features: no snapshot here)."""
    if source["kind"] == "input":
        return inputs.get(source["name"])
    if source["kind"] == "entity":
        return None
    xs = [inputs.get(n) for n in source["of"]]
    if any(x is None for x in xs):
        return None
    op = source["op"]
    if op == "ratio":
        return 0.0 if xs[1] == 0 else xs[0] / xs[1]
    if op == "sum":
        return float(sum(xs))
    if op == "mean":
        return sum(xs) / len(xs)
    if op == "max":
        return float(max(xs))
    if op == "min":
        return float(min(xs))
    if op == "count_at_least":
        return float(sum(1 for x in xs if x >= source["threshold"]))
    fail(f"unknown derived op {op!r}")


def feature_vector(spec, inputs):
    """The model's feature vector for one row of raw inputs, built from spec.json alone, in spec order."""
    out = []
    for f in spec["features"]:
        x = source_value(f["source"], inputs)
        if x is None:
            x = f["default"]
        x = float(x)
        one_hot = False
        for t in f["transforms"]:
            kind = t["kind"]
            if kind == "standardize":
                x = (x - t["mean"]) / t["std"]
            elif kind == "clip":
                x = min(max(x, t["min"]), t["max"])
            elif kind == "log":
                x = math.copysign(math.log1p(abs(x)), x) if x != 0 else 0.0
            elif kind == "bucketize":
                x = float(sum(1 for e in t["edges"] if not x < e))
            elif kind == "one_hot":
                out.extend(1.0 if x == c else 0.0 for c in t["categories"])
                one_hot = True
            elif kind != "identity":
                fail(f"feature {f['name']}: unknown transform {kind!r}")
        if not one_hot:
            out.append(x)
    return out


def json_float(x):
    """A float for JSON: NaN and infinities as the strings protobuf JSON uses, so the output stays valid JSON."""
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    return x


def output_floats(res, index=0):
    """Output tensor `index` of a ModelInferResponse as floats, from its raw bytes or its typed contents."""
    out = res.outputs[index]
    if len(res.raw_output_contents) > index:
        raw = res.raw_output_contents[index]
        if len(raw) % 4:
            fail(f"output {out.name}: {len(raw)} raw bytes is not a whole number of float32 values")
        return "raw", [json_float(x) for x in struct.unpack(f"<{len(raw) // 4}f", raw)]
    return "typed", [json_float(x) for x in out.contents.fp32_contents]


def oip(addr, spec, model, versions, rows, m):
    import grpc

    pb = m["grpc_predict_v2_pb2"]
    vectors = [feature_vector(spec, r) for r in rows]
    n, cols = len(vectors), len(vectors[0]) if vectors else 0
    flat = [x for v in vectors for x in v]
    channel = open_channel(addr)
    try:
        stub = m["grpc_predict_v2_pb2_grpc"].GRPCInferenceServiceStub(channel)
        t = DEFAULT_TIMEOUT_S
        result = {
            "server_live": stub.ServerLive(pb.ServerLiveRequest(), timeout=t).live,
            "server_ready": stub.ServerReady(pb.ServerReadyRequest(), timeout=t).ready,
            "server_metadata": to_dict(stub.ServerMetadata(pb.ServerMetadataRequest(), timeout=t)),
            "rows": n,
            "versions": {},
        }
        for version in versions:
            metadata = stub.ModelMetadata(pb.ModelMetadataRequest(name=model, version=version), timeout=t)
            v = {
                "ready": stub.ModelReady(pb.ModelReadyRequest(name=model, version=version), timeout=t).ready,
                "metadata": to_dict(metadata),
            }
            if len(metadata.inputs) != 1:
                fail(f"{model} version {version}: expected one input tensor, metadata lists {len(metadata.inputs)}")
            # The input tensor's name comes from the server's metadata, as any OIP client would do it.
            input_name = metadata.inputs[0].name

            # 1. Typed contents: the values go in InferTensorContents.fp32_contents.
            typed = pb.ModelInferRequest(model_name=model, model_version=version, id=f"py-typed-{version}")
            tensor = typed.inputs.add(name=input_name, datatype="FP32", shape=[n, cols])
            tensor.contents.fp32_contents.extend(flat)
            res = stub.ModelInfer(typed, timeout=t)
            kind, values = output_floats(res)
            v["typed"] = {"id": res.id, "model_version": res.model_version, "output_form": kind,
                          "output": {"name": res.outputs[0].name, "datatype": res.outputs[0].datatype,
                                     "shape": list(res.outputs[0].shape)},
                          "probabilities": values}

            # 2. Raw contents: row-major little-endian float32 bytes in raw_input_contents (no numpy).
            raw = pb.ModelInferRequest(model_name=model, model_version=version, id=f"py-raw-{version}")
            raw.inputs.add(name=input_name, datatype="FP32", shape=[n, cols])
            raw.raw_input_contents.append(struct.pack(f"<{len(flat)}f", *flat))
            res = stub.ModelInfer(raw, timeout=t)
            kind, values = output_floats(res)
            v["raw"] = {"id": res.id, "model_version": res.model_version, "output_form": kind,
                        "output": {"name": res.outputs[0].name, "datatype": res.outputs[0].datatype,
                                   "shape": list(res.outputs[0].shape)},
                        "probabilities": values}
            # 3. The other datatypes the worker takes: FP64 typed and raw, INT64 raw (whole numbers: the
            #    features rounded), each asking for the score output by name.
            def infer(datatype, form, values, tag):
                req = pb.ModelInferRequest(model_name=model, model_version=version, id=f"py-{tag}-{version}")
                tensor = req.inputs.add(name=input_name, datatype=datatype, shape=[n, cols])
                req.outputs.add(name=metadata.outputs[0].name)
                if form == "raw":
                    fmt = {"FP64": "d", "INT64": "q"}[datatype]
                    req.raw_input_contents.append(struct.pack(f"<{len(values)}{fmt}", *values))
                elif datatype == "FP64":
                    tensor.contents.fp64_contents.extend(values)
                else:
                    tensor.contents.int64_contents.extend(values)
                res = stub.ModelInfer(req, timeout=t)
                kind, probabilities = output_floats(res)
                return {"output_form": kind, "outputs": [o.name for o in res.outputs], "probabilities": probabilities}

            rounded = [int(round(x)) for x in flat]
            v["fp64_typed"] = infer("FP64", "typed", flat, "fp64-typed")
            v["fp64_raw"] = infer("FP64", "raw", flat, "fp64-raw")
            v["int64_raw"] = infer("INT64", "raw", rounded, "int64-raw")
            v["int64_typed"] = infer("INT64", "typed", rounded, "int64-typed")

            # 4. An output the model does not have: INVALID_ARGUMENT.
            bad = pb.ModelInferRequest(model_name=model, model_version=version)
            bad.inputs.add(name=input_name, datatype="FP32", shape=[n, cols]).contents.fp32_contents.extend(flat)
            bad.outputs.add(name="no_such_output")
            try:
                stub.ModelInfer(bad, timeout=t)
                v["unknown_output_error"] = None
            except grpc.RpcError as err:
                v["unknown_output_error"] = err.code().name

            # 5. Triton's statistics extension, after the calls above.
            stats = stub.ModelStatistics(pb.ModelStatisticsRequest(name=model, version=version), timeout=t)
            v["statistics"] = to_dict(stats)
            result["versions"][version] = v
        result["features"] = vectors
        result["rounded_features"] = [[int(round(x)) for x in vec] for vec in vectors]
        return result
    finally:
        channel.close()


def invalid(addr, base, m):
    req = json.loads(json.dumps(base if base is not None else EXAMPLE_REQUEST))
    req.setdefault("inputs", {})
    req["inputs"]["AGE"] = 300
    req["inputs"]["FAVOURITE_COLOUR"] = 7
    [res] = score_requests(addr, [req], m)
    if "error" not in res:
        return {"code": "OK", "code_number": 0, "response": res, "violations": []}
    return res["error"]


def main():
    global CHANNEL_TLS
    p = argparse.ArgumentParser(description="A Python client of scoremesh, generated from proto/ by protoc.")
    p.add_argument("--gen", required=True, help="folder holding the modules protoc generated")
    p.add_argument("mode", choices=["score", "oip", "invalid"])
    p.add_argument("--addr", required=True, help="host:port of the validator (score, invalid) or the model worker (oip)")
    p.add_argument("--file", help="JSON input (default: stdin)")
    p.add_argument("--spec", help="oip: the model's spec.json")
    p.add_argument("--model", default="credit-default", help="oip: the model name")
    p.add_argument("--versions", default="1,2", help="oip: comma-separated model versions")
    p.add_argument("--ca", help="mutual TLS: the CA certificate (e.g. .scoremesh/tls/ca.pem)")
    p.add_argument("--cert", help="mutual TLS: the client certificate (e.g. .scoremesh/tls/client.pem)")
    p.add_argument("--key", help="mutual TLS: the client key (e.g. .scoremesh/tls/client-key.pem)")
    a = p.parse_args()
    tls = (a.ca, a.key, a.cert)
    if any(tls) and not all(tls):
        fail("mutual TLS needs all of --ca, --cert and --key")
    if all(tls):
        CHANNEL_TLS = tls
    m = load_generated(a.gen)
    if a.mode == "score":
        out = score_requests(a.addr, read_json(a.file), m)
    elif a.mode == "oip":
        if not a.spec:
            fail("oip needs --spec models/<model>/spec.json")
        with open(a.spec, encoding="utf-8") as f:
            spec = json.load(f)
        rows = read_json(a.file)
        if not isinstance(rows, list) or not rows:
            fail("oip needs a non-empty JSON list of input rows")
        out = oip(a.addr, spec, a.model, [v for v in a.versions.split(",") if v], rows, m)
    else:
        out = invalid(a.addr, read_json(a.file) if a.file else None, m)
    json.dump(out, sys.stdout, indent=1, allow_nan=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
