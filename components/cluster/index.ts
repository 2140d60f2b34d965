export * from "./types";
export * from "./existing";
export * from "./validate";
