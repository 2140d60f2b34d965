import { describe, expect, it } from "vitest";

import { compliantAzurePostgresServer, compliantRdsInstance } from "../test/fixtures";
import { violationsOf } from "../test/validate";
import { databaseNotPublic } from "./database-not-public";

const RDS = "aws:rds/instance:Instance";
const AZURE_SERVER = "azure-native:dbforpostgresql:Server";
const FIREWALL_RULE = "azure-native:dbforpostgresql:FirewallRule";
const urn = (type: string, name = "subject") => `urn:pulumi:test::platform::${type}::${name}`;

describe("database-not-public", () => {
    it("is mandatory and named in kebab-case", () => {
        expect(databaseNotPublic.name).toBe("database-not-public");
        expect(databaseNotPublic.enforcementLevel).toBe("mandatory");
        expect(databaseNotPublic.description).toMatch(/no public endpoint/);
    });

    it("passes a private RDS instance", async () => {
        expect(await violationsOf(databaseNotPublic, RDS, compliantRdsInstance())).toEqual([]);
    });

    it("passes an RDS instance that does not set publiclyAccessible (the provider's default is false)", async () => {
        const db: Partial<ReturnType<typeof compliantRdsInstance>> = compliantRdsInstance();
        delete db.publiclyAccessible;
        expect(await violationsOf(databaseNotPublic, RDS, db)).toEqual([]);
    });

    it.each([RDS, "aws:rds/clusterInstance:ClusterInstance"])("reports a publicly accessible %s, naming the URN and the type", async (type) => {
        const db = { ...compliantRdsInstance(), publiclyAccessible: true };
        expect(await violationsOf(databaseNotPublic, type, db)).toEqual([`${urn(type)} (${type}): publiclyAccessible is true; databases stay private`]);
    });

    it("passes a Flexible Server with public network access disabled", async () => {
        expect(await violationsOf(databaseNotPublic, AZURE_SERVER, compliantAzurePostgresServer())).toEqual([]);
    });

    it("reports a Flexible Server with public network access enabled", async () => {
        const server = { ...compliantAzurePostgresServer(), network: { publicNetworkAccess: "Enabled" } };
        expect(await violationsOf(databaseNotPublic, AZURE_SERVER, server)).toEqual([
            `${urn(AZURE_SERVER)} (${AZURE_SERVER}): network.publicNetworkAccess is Enabled; set "Disabled"`,
        ]);
    });

    it.each([
        ["network.publicNetworkAccess unset", { publicNetworkAccess: undefined }],
        ["no network block", undefined],
    ])("reports a Flexible Server with %s (Azure's default is Enabled)", async (_label, network) => {
        const server = { ...compliantAzurePostgresServer(), network };
        expect(await violationsOf(databaseNotPublic, AZURE_SERVER, server)).toEqual([
            expect.stringContaining(`(${AZURE_SERVER}): network.publicNetworkAccess is unset (Enabled); set "Disabled"`),
        ]);
    });

    it.each([
        ["the whole internet", "0.0.0.0", "255.255.255.255"],
        ["Azure services", "0.0.0.0", "0.0.0.0"],
        ["one office address", "203.0.113.10", "203.0.113.10"],
    ])("reports any Flexible Server firewall rule (%s), naming its range", async (_label, startIpAddress, endIpAddress) => {
        const rule = { serverName: "app-db", resourceGroupName: "rg", startIpAddress, endIpAddress };
        expect(await violationsOf(databaseNotPublic, FIREWALL_RULE, rule, "office")).toEqual([
            `${urn(FIREWALL_RULE, "office")} (${FIREWALL_RULE}): firewall rules open a database to public addresses (${startIpAddress}-${endIpAddress}); use private access`,
        ]);
    });

    it("ignores other types", async () => {
        expect(await violationsOf(databaseNotPublic, "aws:s3/bucket:Bucket", { publiclyAccessible: true })).toEqual([]);
        expect(await violationsOf(databaseNotPublic, "azure-native:dbforpostgresql:Database", { network: { publicNetworkAccess: "Enabled" } })).toEqual([]);
    });
});
