// VaultConfiguration is imported from "./configuration" where it is used, so
// programs that only deploy Vault do not load the vault SDK.
export * from "./charts";
export * from "./server";
