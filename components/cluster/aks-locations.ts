/**
 * Regions we run AKS in: all have three availability zones and Postgres
 * Flexible Server zone-redundant HA. In a file of its own, without the
 * azure-native SDK, so that the stack config loader (environments/config.ts)
 * checks `platform:region` against this same list without loading the SDK.
 */
export const AKS_LOCATIONS = [
    "westeurope", "northeurope", "swedencentral", "germanywestcentral", "uksouth", "eastus2", "centralus",
] as const;
