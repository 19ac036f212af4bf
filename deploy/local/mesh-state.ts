import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { isAbsolute, join } from "node:path";
import { PROJECT_ROOT } from "./mesh.js";

/**
 * What a running launcher leaves in its state folder (`.scoremesh/mesh.json`): its pid and the environment it gave
 * the services, so that meshctl finds the mesh (whatever its ports) and a second `npm start` can say that one runs.
 */
export interface MeshState {
  /** The launcher's pid. */
  pid: number;
  startedAt: string;
  /** The addresses, NATS_URL and repository the services got (the variables meshctl reads too). */
  env: Record<string, string>;
}

const FILE = "mesh.json";

/** The launcher's state folder: `dir` (relative to the project) or .scoremesh, as `npm start -- --state-dir` takes it. */
export function stateDirPath(dir = ".scoremesh"): string {
  return isAbsolute(dir) ? dir : join(PROJECT_ROOT, dir);
}

export function writeMeshState(stateDir: string, state: MeshState): void {
  writeFileSync(join(stateDir, FILE), JSON.stringify(state, null, 2) + "\n");
}

/** Removes the state file if it is `pid`'s (a second launcher that failed to start must not remove the first's). */
export function removeMeshState(stateDir: string, pid: number): void {
  if (readMeshState(stateDir)?.pid === pid) rmSync(join(stateDir, FILE), { force: true });
}

/** The state a launcher left in `stateDir`, with whether that launcher still runs; undefined when there is none. */
export function readMeshState(stateDir: string): (MeshState & { running: boolean }) | undefined {
  let state: MeshState;
  try {
    state = JSON.parse(readFileSync(join(stateDir, FILE), "utf8")) as MeshState;
  } catch {
    return undefined;
  }
  if (!Number.isInteger(state.pid) || typeof state.env !== "object" || state.env === null) return undefined;
  return { ...state, running: processRuns(state.pid) };
}

function processRuns(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}
