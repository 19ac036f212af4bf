import { fork } from "node:child_process";
import type * as grpc from "@grpc/grpc-js";

/** A raw-bytes echo service (no protobuf): what a grpc-js call costs with nothing else in it. */
export const echoService = {
  Echo: {
    path: "/bench.Echo/Echo",
    requestStream: false,
    responseStream: false,
    requestSerialize: (b: Buffer) => b,
    requestDeserialize: (b: Buffer) => b,
    responseSerialize: (b: Buffer) => b,
    responseDeserialize: (b: Buffer) => b,
  },
} satisfies grpc.ServiceDefinition;

/** The echo handler: answers each request with its own bytes. */
export const echoHandlers = {
  Echo: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => cb(null, call.request),
};

/** An echo server forked from `script` (which serves when given `args`): its port, and its CPU on request. */
export async function forkEchoServer(script: string, args: string[]) {
  // --no-deprecation: grpc-js sets an IP address as the TLS server name (DEP0123), once per channel.
  const child = fork(script, args, { execArgv: [...process.execArgv, "--no-deprecation"] });
  const next = () =>
    new Promise<Record<string, number>>((r) => child.once("message", (m) => r(m as Record<string, number>)));
  const { port } = await next();
  const serverCpu = async () => {
    const m = next();
    child.send("cpu");
    return (await m)["cpu"]!;
  };
  return { child, port: port!, serverCpu };
}
