export * from "./charts";
export * from "./observability";
