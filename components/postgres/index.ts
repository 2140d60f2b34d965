// The managed servers are imported from "./azure" and "./aws" where they are
// used, so the local environment never loads a cloud SDK.
export * from "./types";
export * from "./charts";
export * from "./in-cluster";
