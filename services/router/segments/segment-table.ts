import type { Logger } from "pino";
import type { ServingPolicy } from "../../../gen/scoremesh/policy/v1/policy_pb.js";
import { parseRules, type ParsedSegmentRule } from "../../lib/segments/index.js";

/** A segment rule as a router serves it: `ready` false while no worker has its version ready (rows go to the champion). */
export interface ServedSegmentRule extends ParsedSegmentRule {
  ready: boolean;
  /** Since when (ms) a version that was serving has failed its checks; undefined while it passes. */
  failingSince?: number;
}

export interface SegmentTableOptions {
  /** Why `version` cannot serve (not in the repository, not ready on any worker); undefined when it can. */
  problem: (model: string, version: string) => Promise<string | undefined>;
  /**
   * How long a version that was serving may fail its checks before its rows go to the champion, ms (default
   * 10000): one slow readiness answer under load must not move a segment back and forth.
   */
  dropAfterMs?: number;
  now?: () => number;
  log: Logger;
}

/**
 * The serving policies' segment rules, per model, in order, each with whether its version can serve here. A
 * rule whose version no worker has ready (or that is not in the repository) keeps matching its rows, but they
 * go to the champion, never fail; that is logged once per change (of the policy, or of what cannot serve), not on
 * every 250 ms check. A new rule's version is checked at once and then every `intervalMs`; once serving, it stops
 * only after failing its checks for `dropAfterMs`.
 */
export class SegmentTable {
  private readonly rules = new Map<string, ServedSegmentRule[]>();
  /** What was last logged per model: the versions that cannot serve and why. */
  private readonly logged = new Map<string, string>();
  private checking: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly o: SegmentTableOptions) {}

  /** Takes in a policy's segment rules (validated by the policy codec); a change starts as not ready until checked. */
  follow(p: ServingPolicy): void {
    const had = this.rules.get(p.model) ?? [];
    const same = had.length === p.segments.length && had.every((r, i) => sameRule(r, p.segments[i]!));
    if (same) return;
    const ready = new Map(had.filter((r) => r.ready).map((r) => [r.version, true]));
    let parsed: ParsedSegmentRule[] = [];
    try {
      parsed = parseRules(p.segments);
    } catch (err) {
      this.o.log.error({ err, model: p.model }, "segment rules of the serving policy refused: none applied");
    }
    this.rules.set(
      p.model,
      parsed.map((r) => ({ ...r, ready: ready.get(r.version) ?? false })),
    );
    this.logged.delete(p.model);
    this.o.log.info(
      { model: p.model, segments: parsed.map((r) => r.name), by: p.updatedBy },
      "policy changes the segments",
    );
    void this.check();
  }

  /** The model's rules in order (empty: none). */
  rulesFor(model: string): readonly ServedSegmentRule[] {
    return this.rules.get(model) ?? [];
  }

  /** Checks every rule's version; logs what cannot serve once per change. One check at a time (a call during one waits for it). */
  check(): Promise<void> {
    this.checking ??= this.checkAll().finally(() => (this.checking = undefined));
    return this.checking;
  }

  private async checkAll(): Promise<void> {
    for (const [model, rules] of this.rules) await this.checkModel(model, rules);
  }

  start(intervalMs = 250): this {
    this.timer = setInterval(() => void this.check(), intervalMs);
    this.timer.unref();
    return this;
  }

  close(): void {
    clearInterval(this.timer);
  }

  private async checkModel(model: string, rules: ServedSegmentRule[]): Promise<void> {
    const problems: string[] = [];
    for (const r of rules) {
      const problem = await this.o.problem(model, r.version);
      if (this.rules.get(model) !== rules) return; // the policy moved on while we were checking
      if (!this.passes(r, problem)) problems.push(`segment ${r.name}: version ${r.version} ${problem}`);
    }
    const state = problems.join("; ");
    if (this.logged.get(model) === state) return;
    this.logged.set(model, state);
    if (problems.length)
      this.o.log.error(
        { model, problems },
        "segment rules name versions that cannot serve: their rows go to the champion",
      );
    else if (rules.length) this.o.log.info({ model, segments: rules.map((r) => r.name) }, "segment rules serving");
  }

  /** Whether the rule serves after a check that found `problem`: a serving rule survives `dropAfterMs` of failures. */
  private passes(r: ServedSegmentRule, problem: string | undefined): boolean {
    if (problem === undefined) {
      r.ready = true;
      r.failingSince = undefined;
      return true;
    }
    const now = (this.o.now ?? performance.now.bind(performance))();
    if (r.ready) r.failingSince ??= now;
    if (r.failingSince === undefined || now - r.failingSince >= (this.o.dropAfterMs ?? 10_000)) r.ready = false;
    return r.ready;
  }
}

function sameRule(a: ParsedSegmentRule, b: { name: string; version: string; where: string }): boolean {
  return a.name === b.name && a.version === b.version && a.where === b.where;
}
