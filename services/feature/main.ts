import { runService } from "../lib/service/index.js";
import { readConfig } from "./config.js";
import { startFeature } from "./server.js";

await runService("feature", (log) => startFeature(readConfig(), log));
