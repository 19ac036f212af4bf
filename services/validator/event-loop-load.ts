import { performance, type EventLoopUtilization } from "node:perf_hooks";

/**
 * How busy this process's event loop has been since the last look (`performance.eventLoopUtilization`: the share
 * of time spent running callbacks rather than waiting for I/O). Cheap: two counters read per call.
 *
 * @example
 *   const loop = new EventLoopLoad();
 *   const saturated = () => loop.sinceLast() > 0.9;
 */
export class EventLoopLoad {
  private last: EventLoopUtilization = performance.eventLoopUtilization();

  /** Utilization (0..1) since the previous call, or since construction. */
  sinceLast(): number {
    const now = performance.eventLoopUtilization();
    const delta = performance.eventLoopUtilization(now, this.last);
    this.last = now;
    return delta.utilization;
  }
}
