import { create } from "@bufbuild/protobuf";
import { GetCostResponseSchema, type GetCostResponse } from "../../../gen/scoremesh/monitor/v1/monitor_pb.js";
import type { ModelRepository } from "../../lib/model/index.js";
import type { OutcomeReporter } from "../outcomes/outcome-report.js";
import { apportion, type Prices } from "./apportion.js";
import type { UsageScraper } from "./usage-scraper.js";

/** GetCost's answer: the scraped usage apportioned and priced, each version's card and rolling AUC beside it. */
export class CostReport {
  constructor(
    private readonly scraper: UsageScraper,
    private readonly prices: Prices,
    private readonly outcomes?: Pick<OutcomeReporter, "latest">,
    private readonly repo?: Pick<ModelRepository, "card">,
  ) {}

  report(): GetCostResponse {
    const r = create(GetCostResponseSchema, apportion(this.scraper.usage(), this.prices));
    r.unreachable = [...this.scraper.unreachable].sort();
    for (const v of r.versions) {
      v.cardAuc = this.cardAuc(v.model, v.modelVersion);
      v.rollingAuc = this.outcomes?.latest.find(
        (o) => o.model === v.model && o.modelVersion === v.modelVersion,
      )?.rollingAuc;
    }
    return r;
  }

  private cardAuc(model: string, version: string): number | undefined {
    try {
      return this.repo?.card(model, version).metrics["roc_auc"];
    } catch {
      return undefined;
    }
  }
}
