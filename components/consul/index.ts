// ConsulCatalog is imported from "./catalog" where it is used, so programs
// that only deploy Consul do not load the consul SDK.
export * from "./charts";
export * from "./server";
