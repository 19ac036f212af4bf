// The public surface of services/lib/segments (serving-policy segment rules): import from here, not from the files.
export * from "./where.js";
export * from "./match.js";
export * from "./rules.js";
