// Research tools on top of the engine and its run directories: α sweeps with
// seeds and significance tests.
export * from "./stats.ts";
export * from "./sweep-grid.ts";
export * from "./sweep-aggregate.ts";
export * from "./sweep.ts";
