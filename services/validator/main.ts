import { runService } from "../lib/service/index.js";
import { readConfig } from "./config.js";
import { startValidator } from "./server.js";

await runService("validator", (log) => startValidator(readConfig(), log));
