import { createWriteStream, mkdirSync, type WriteStream } from "node:fs";
import { dirname } from "node:path";
import { toJson } from "@bufbuild/protobuf";
import { DecisionRecordSchema, type DecisionRecord } from "../../gen/scoremesh/monitor/v1/monitor_pb.js";

const NO_INPUTS = new Uint8Array(0);

/**
 * The decision audit log: one JSON line per decision record, appended to a file. `append` resolves once the
 * lines are handed to the operating system, so a router is told a batch was accepted only after that.
 */
export class AuditLog {
  private readonly out: WriteStream;

  constructor(path: string) {
    mkdirSync(dirname(path), { recursive: true });
    this.out = createWriteStream(path, { flags: "a" });
  }

  append(records: DecisionRecord[]): Promise<void> {
    // The inputs are for drift only (binned in memory): the file keeps what it kept before, no raw inputs.
    const text =
      records.map((r) => JSON.stringify(toJson(DecisionRecordSchema, { ...r, inputs: NO_INPUTS }))).join("\n") + "\n";
    return new Promise((resolve, reject) => this.out.write(text, (err) => (err ? reject(err) : resolve())));
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.out.end(() => resolve()));
  }
}
