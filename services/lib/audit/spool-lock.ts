import { openSync, readFileSync, unlinkSync, writeFileSync, closeSync } from "node:fs";

/**
 * One process per spool folder: a lock file holding the owner's pid. A lock left by a process that is gone (it
 * crashed) is taken over; one held by a live process refuses.
 */
export class SpoolLock {
  private constructor(private readonly path: string) {}

  static take(path: string): SpoolLock {
    try {
      const fd = openSync(path, "wx");
      writeFileSync(fd, String(process.pid));
      closeSync(fd);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      const owner = Number(readFileSync(path, "utf8").trim());
      if (owner && owner !== process.pid && alive(owner))
        throw new Error(
          `audit spool ${path} is held by process ${owner}: give each router and validator its own spool folder`,
          {
            cause: err,
          },
        );
      writeFileSync(path, String(process.pid));
    }
    return new SpoolLock(path);
  }

  release(): void {
    try {
      unlinkSync(this.path);
    } catch {
      // Already gone.
    }
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}
