/** Open-loop load: requests sent at scheduled times, latency counted from each request's scheduled time. */

export type Arrival = "poisson" | "uniform";

/** The q-quantile of an ascending array (NaN when empty). */
export function quantile(sorted: number[], q: number): number {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]! : NaN;
}

/** The median of a few figures (NaN when none). */
export function median(xs: number[]): number {
  const s = xs.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Sends `rate` × `seconds` requests at scheduled times; latency counts from the scheduled time. */
export function openLoop(
  send: (i: number) => Promise<unknown>,
  rate: number,
  seconds: number,
  arrival: Arrival,
): Promise<{ lat: number[]; errors: number; dropped: number; elapsed: number }> {
  const n = Math.round(rate * seconds);
  const at: number[] = [];
  let t = 0;
  for (let i = 0; i < n; i++) {
    t += arrival === "uniform" ? 1000 / rate : (-Math.log(1 - Math.random()) * 1000) / rate;
    at.push(t);
  }
  const maxOutstanding = 5000;
  const lat: number[] = [];
  let errors = 0;
  let dropped = 0;
  let outstanding = 0;
  let k = 0;
  const start = performance.now() + 10;
  return new Promise((resolve) => {
    const finish = () => {
      if (k >= n && outstanding === 0)
        resolve({ lat: lat.sort((a, b) => a - b), errors, dropped, elapsed: (performance.now() - start) / 1000 });
    };
    const tick = () => {
      const now = performance.now();
      while (k < n && start + at[k]! <= now) {
        const due = start + at[k]!;
        const i = k++;
        if (outstanding >= maxOutstanding) {
          dropped++;
          continue;
        }
        outstanding++;
        send(i)
          .then(
            () => lat.push(performance.now() - due),
            () => errors++,
          )
          .finally(() => {
            outstanding--;
            finish();
          });
      }
      if (k < n) setTimeout(tick, Math.max(0, Math.min(1, start + at[k]! - performance.now())));
      else finish();
    };
    setTimeout(tick, 10);
  });
}
