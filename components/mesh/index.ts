export * from "./charts";
export * from "./mesh";
export * from "./network";
