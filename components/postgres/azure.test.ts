import * as pulumi from "@pulumi/pulumi";
import { beforeAll, beforeEach, describe, expect, it } from "vitest";

import { expectDistinctInstances, expectRefusedBeforeRegistering, settled, setupComponent, TEST_CLOUD_TAGS, TEST_TAGS as tags } from "../../test/helpers/component";
import { isSecret, MockSession, settle, valueOf } from "../../test/helpers/mocks";
import { takesTags } from "../../test/helpers/taggable";

const T = {
    zone: "azure-native:privatedns:PrivateZone",
    link: "azure-native:privatedns:VirtualNetworkLink",
    server: "azure-native:dbforpostgresql:Server",
    config: "azure-native:dbforpostgresql:Configuration",
    database: "azure-native:dbforpostgresql:Database",
    entraAdmin: "azure-native:dbforpostgresql:AdministratorsMicrosoftEntra",
    firewall: "azure-native:dbforpostgresql:FirewallRule",
    password: "random:index/randomPassword:RandomPassword",
};
const SUBNET = "/subscriptions/s/resourceGroups/aks-rg/providers/Microsoft.Network/virtualNetworks/vnet/subnets/postgres";
const VNET = "/subscriptions/s/resourceGroups/aks-rg/providers/Microsoft.Network/virtualNetworks/vnet";
const passwordOf = (name: string) => `Gen3rated-${name}`;
const secretWire = (value: string) => ({ [pulumi.runtime.specialSigKey]: pulumi.runtime.specialSecretSig, value });

let session: MockSession;
let mod: typeof import("./azure");

beforeAll(async () => {
    ({ session, mod } = await setupComponent(() => import("./azure"), {
        state: {
            [T.zone]: (inputs) => ({ name: inputs.privateZoneName }),
            [T.server]: (_, name) => ({ name, fullyQualifiedDomainName: `${name}.postgres.database.azure.com` }),
            [T.password]: (_, name) => ({ result: passwordOf(name) }),
        },
    }));
});
beforeEach(() => session.reset());

type Args = import("./azure").AzurePostgresServerArgs;
const base: Args = { resourceGroupName: "aks-rg", location: "westeurope", delegatedSubnetId: SUBNET, virtualNetworkId: VNET, tags };
const build = (name: string, args: Args = base) => settled(session, () => new mod.AzurePostgresServer(name, args));
const server = (name: string) => session.get(T.server, `${name}-server`).inputs;

describe("validateAzurePostgresServerArgs", () => {
    const cases: [string, Partial<Args>, RegExp][] = [
        ["an unsupported major version", { version: "15" as "17" }, /version is "15"; allowed: 16, 17/],
        ["an unknown tier", { skuTier: "Basic" as "Burstable" }, /skuTier is "Basic"; allowed: Burstable, GeneralPurpose, MemoryOptimized/],
        ["a size that is not a VM size", { skuName: "D2ds_v5" }, /skuName is "D2ds_v5"; allowed: an Azure VM size/],
        ["HA on a burstable server", { skuTier: "Burstable", skuName: "Standard_B2ms", highAvailability: true }, /highAvailability is true with skuTier Burstable; allowed: skuTier GeneralPurpose or MemoryOptimized/],
        ["a storage size Azure does not offer", { storageSizeGb: 100 }, /storageSizeGb is 100; allowed: 32, 64, 128, .*32767/],
        ["too few backup days", { backupRetentionDays: 6 }, /backupRetentionDays is 6; allowed: an integer from 7 to 35/],
        ["too many backup days", { backupRetentionDays: 36 }, /backupRetentionDays is 36; allowed: an integer from 7 to 35/],
        ["fractional backup days", { backupRetentionDays: 7.5 }, /backupRetentionDays is 7\.5/],
        ["a database name with capitals", { databaseName: "Orders" }, /databaseName is "Orders"; allowed: lower-case letters, digits and '_'/],
        ["a reserved database name", { databaseName: "azure_sys" }, /databaseName is "azure_sys"; allowed: .*not postgres, azure_maintenance/],
        ["a reserved administrator", { adminUsername: "azure_superuser" }, /adminUsername is "azure_superuser"; allowed: .*not azure_superuser/],
        ["an administrator starting with pg_", { adminUsername: "pg_admin" }, /adminUsername is "pg_admin"; allowed: .*not starting with pg_/],
        ["an Entra admin without an object id", { entraAdmin: { objectId: "dba-team", principalName: "DBA team", principalType: "group" } }, /entraAdmin\.objectId is "dba-team"; allowed: an Entra ID object id/],
        ["an unknown Entra principal type", { entraAdmin: { objectId: "0b1f0c5e-7d4a-4c55-9a43-8f7c6d2e1a10", principalName: "DBA", principalType: "role" as "group" } }, /entraAdmin\.principalType is "role"; allowed: user, group, servicePrincipal/],
        ["an Entra admin without a name", { entraAdmin: { objectId: "0b1f0c5e-7d4a-4c55-9a43-8f7c6d2e1a10", principalName: " ", principalType: "group" } }, /entraAdmin\.principalName is empty/],
    ];
    it.each(cases)("rejects %s, naming the setting", (_, override, message) => {
        expect(() => mod.validateAzurePostgresServerArgs("pg", { ...base, ...override })).toThrow(message);
        expect(() => mod.validateAzurePostgresServerArgs("pg", { ...base, ...override })).toThrow(/^azure postgres "pg": /);
    });

    it("rejects a name that cannot become the server's DNS name", () => {
        expect(() => mod.validateAzurePostgresServerArgs("App_DB", base)).toThrow(/name "App_DB" must be 2-40 lower-case letters/);
    });

    it("accepts the defaults and every supported major version", () => {
        expect(() => mod.validateAzurePostgresServerArgs("pg", base)).not.toThrow();
        for (const version of ["16", "17"] as const) {
            expect(() => mod.validateAzurePostgresServerArgs("pg", { ...base, version })).not.toThrow();
        }
    });

    it("validates before registering anything", async () => {
        await expectRefusedBeforeRegistering(session, () => new mod.AzurePostgresServer("bad", { ...base, storageSizeGb: 1 }), /storageSizeGb/);
    });
});

describe("AzurePostgresServer", () => {
    it("puts the five required tags on every taggable Azure resource, and extras cannot override them", async () => {
        await build("tagged", {
            ...base,
            extraTags: { "cost-center": "NOPE-1", team: "payments" },
            entraAdmin: { objectId: "0b1f0c5e-7d4a-4c55-9a43-8f7c6d2e1a10", principalName: "DBA team", principalType: "group" },
        });
        const azure = session.resources.filter((r) => r.type.startsWith("azure-native:"));
        const taggable = azure.filter((r) => takesTags(r.type));
        expect(new Set(taggable.map((r) => r.type))).toEqual(new Set([T.zone, T.link, T.server]));
        for (const r of taggable) {
            expect(r.inputs.tags, `${r.type} ${r.name}`).toEqual({ ...TEST_CLOUD_TAGS, team: "payments" });
        }
        // The typings check is what makes the loop cover every type: it must tell both kinds apart.
        for (const type of [T.config, T.database, T.entraAdmin]) expect(takesTags(type), type).toBe(false);
    });

    it("is reachable only inside the VNet: delegated subnet, linked private DNS zone, no public access", async () => {
        await build("orders");
        expect(session.get(T.zone, "orders-dns").inputs).toMatchObject({
            resourceGroupName: "aks-rg", privateZoneName: "orders.private.postgres.database.azure.com", location: "global",
        });
        expect(session.get(T.link, "orders-dns-link").inputs).toMatchObject({
            privateZoneName: "orders.private.postgres.database.azure.com", virtualNetwork: { id: VNET }, registrationEnabled: false,
        });
        expect(server("orders").network).toEqual({
            delegatedSubnetResourceId: SUBNET, privateDnsZoneArmResourceId: "orders-dns-id", publicNetworkAccess: "Disabled",
        });
        expect(session.ofType(T.firewall)).toHaveLength(0);
    });

    it("keeps 7 days of backups by default, 35 in production, and takes geo-redundancy and HA as args", async () => {
        new mod.AzurePostgresServer("dev", base);
        new mod.AzurePostgresServer("prod", { ...base, production: true, geoRedundantBackup: true, highAvailability: true });
        new mod.AzurePostgresServer("custom", { ...base, production: true, backupRetentionDays: 14 });
        await settle(session);
        expect(server("dev").backup).toEqual({ backupRetentionDays: 7, geoRedundantBackup: "Disabled" });
        expect(server("dev").highAvailability).toMatchObject({ mode: "Disabled" });
        expect(server("prod").backup).toEqual({ backupRetentionDays: 35, geoRedundantBackup: "Enabled" });
        expect(server("prod").highAvailability).toMatchObject({ mode: "ZoneRedundant" });
        expect(server("custom").backup).toMatchObject({ backupRetentionDays: 14 });
    });

    it("sizes storage with auto-grow and runs the requested major version", async () => {
        await build("sized", { ...base, version: "16", storageSizeGb: 256 });
        expect(server("sized")).toMatchObject({
            version: "16", storage: { storageSizeGB: 256, autoGrow: "Enabled" }, sku: { name: "Standard_D2ds_v5", tier: "GeneralPurpose" },
        });
    });

    it("enables Entra ID and password auth with a generated, secret administrator password", async () => {
        const pg = await build("auth");
        expect(server("auth").authConfig).toMatchObject({ activeDirectoryAuth: "Enabled", passwordAuth: "Enabled" });
        expect(server("auth").administratorLogin).toBe("platform_admin");
        expect(server("auth").administratorLoginPassword).toEqual(secretWire(passwordOf("auth-admin-password")));
        expect(session.get(T.password, "auth-admin-password").inputs).toMatchObject({ length: 32, special: true, overrideSpecial: "-_." });
        expect(await isSecret(pg.adminPassword)).toBe(true);
        expect(await valueOf(pg.adminPassword)).toBe(passwordOf("auth-admin-password"));
        expect(await valueOf(pg.adminUsername)).toBe("platform_admin");
        expect(session.ofType(T.entraAdmin)).toHaveLength(0);
    });

    it("makes the Entra ID principal an administrator when one is given", async () => {
        const entraAdmin = { objectId: "0b1f0c5e-7d4a-4c55-9a43-8f7c6d2e1a10", principalName: "DBA team", principalType: "group" } as const;
        await build("entra", { ...base, entraAdmin, tenantId: "72f988bf-86f1-41af-91ab-2d7cd011db47" });
        expect(session.get(T.entraAdmin, "entra-entra-admin").inputs).toEqual({
            ...entraAdmin, resourceGroupName: "aks-rg", serverName: "entra-server", tenantId: "72f988bf-86f1-41af-91ab-2d7cd011db47",
        });
        expect(server("entra").authConfig).toMatchObject({ tenantId: "72f988bf-86f1-41af-91ab-2d7cd011db47" });
    });

    it("requires TLS on the server and creates the application database", async () => {
        const pg = await build("tls", { ...base, databaseName: "orders" });
        expect(session.get(T.config, "tls-require-tls").inputs).toMatchObject({
            serverName: "tls-server", configurationName: "require_secure_transport", value: "on",
        });
        expect(session.get(T.database, "tls-database").inputs).toMatchObject({ serverName: "tls-server", databaseName: "orders" });
        expect(pg.requireTls).toBe(true);
        expect(await valueOf(pg.databaseName)).toBe("orders");
        expect(await valueOf(pg.host)).toBe("tls-server.postgres.database.azure.com");
        expect(await valueOf(pg.port)).toBe(5432);
    });

    it("reports a deployed record that needs the cluster, counting the HA standby", async () => {
        const single = new mod.AzurePostgresServer("one", base);
        const ha = new mod.AzurePostgresServer("two", { ...base, highAvailability: true, dependsOnRecords: ["network"] });
        await settle(session);
        expect(single.records[0]).toMatchObject({
            id: "postgres", template: "platform:postgres:AzurePostgresServer", count: 1, status: "deployed", statusEndpoints: [], dependsOn: ["cluster"],
        });
        expect(await valueOf(single.records[0].entrypoints[0] as pulumi.Output<string>)).toBe(
            "postgresql://one-server.postgres.database.azure.com:5432/platform?sslmode=require",
        );
        expect(ha.records[0]).toMatchObject({ count: 2, dependsOn: ["network"] });
    });

    it("protects the server and its database when asked, and not by default", async () => {
        new mod.AzurePostgresServer("keep", { ...base, protect: true });
        new mod.AzurePostgresServer("temp", base);
        await settle(session);
        expect(session.get(T.server, "keep-server").protect).toBe(true);
        expect(session.get(T.database, "keep-database").protect).toBe(true);
        expect(session.get(T.server, "temp-server").protect).toBe(false);
        expect(session.get(T.database, "temp-database").protect).toBe(false);
    });

    it("names children after the instance, so two instances do not collide", async () => {
        new mod.AzurePostgresServer("alpha", base);
        new mod.AzurePostgresServer("beta", base);
        await settle(session);
        expectDistinctInstances(session, ["alpha", "beta"], "custom");
        expect(session.ofType(T.zone).map((r) => r.inputs.privateZoneName as string).sort()).toEqual([
            "alpha.private.postgres.database.azure.com",
            "beta.private.postgres.database.azure.com",
        ]);
    });
});
