import * as dbforpostgresql from "@pulumi/azure-native/dbforpostgresql";
import * as privatedns from "@pulumi/azure-native/privatedns";
import * as pulumi from "@pulumi/pulumi";
import { RandomPassword } from "@pulumi/random/randomPassword";

import { ComponentType, RECORD_IDS, ResourceRecord, resourceRecord } from "../shared/records";
import { cloudTags, StandardTags } from "../shared/tags";
import { POSTGRES_MAJOR_VERSIONS, PostgresMajorVersion, PostgresServer } from "./types";

/** Compute tiers of Flexible Server; zone-redundant HA is not offered on `Burstable`. */
export const AZURE_POSTGRES_SKU_TIERS = ["Burstable", "GeneralPurpose", "MemoryOptimized"] as const;
/** Storage sizes (GiB) Flexible Server offers on Premium SSD. */
export const AZURE_POSTGRES_STORAGE_SIZES_GB = [32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32767] as const;
const ENTRA_PRINCIPAL_TYPES = ["user", "group", "servicePrincipal"] as const;
// Logins Azure reserves for itself; the server refuses them as administrator.
const RESERVED_LOGINS = [
    "azure_superuser", "azure_pg_admin", "admin", "administrator", "root", "guest", "public", "postgres",
];
const RESERVED_DATABASES = ["postgres", "azure_maintenance", "azure_sys", "template0", "template1"];
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** An Entra ID principal made administrator of the server. */
export interface AzurePostgresEntraAdmin {
    /** Object id of the user, group or service principal. */
    objectId: string;
    /** Its display name (user principal name, group or application name). */
    principalName: string;
    /** What kind of principal it is. */
    principalType: (typeof ENTRA_PRINCIPAL_TYPES)[number];
}

export interface AzurePostgresServerArgs {
    /** Resource group of the server and its private DNS zone (e.g. `AksCluster.resourceGroupName`). Required. */
    resourceGroupName: pulumi.Input<string>;
    /** Azure region; the VNet's region (e.g. `AksCluster.location`). Required. */
    location: pulumi.Input<string>;
    /** Subnet delegated to `Microsoft.DBforPostgreSQL/flexibleServers` (e.g. `AksCluster.postgresSubnetId`). Required. */
    delegatedSubnetId: pulumi.Input<string>;
    /** VNet the private DNS zone is linked to, so clients resolve the server (e.g. `AksCluster.vnetId`). Required. */
    virtualNetworkId: pulumi.Input<string>;
    /** The environment's standard tags, put on every taggable child. Required. */
    tags: StandardTags;
    /** Extra tags on every taggable child; the standard tags win on conflict. Default: none. */
    extraTags?: Record<string, string>;
    /** Postgres major version, one of `POSTGRES_MAJOR_VERSIONS`. Default: "17". */
    version?: PostgresMajorVersion;
    /** Compute size. Default: `Standard_D2ds_v5`. */
    skuName?: string;
    /** Compute tier, one of `AZURE_POSTGRES_SKU_TIERS`. Default: `GeneralPurpose`. */
    skuTier?: (typeof AZURE_POSTGRES_SKU_TIERS)[number];
    /** Storage in GiB, one of `AZURE_POSTGRES_STORAGE_SIZES_GB`. Default: 64. */
    storageSizeGb?: number;
    /** Grow storage automatically when it runs low. Default: true. */
    storageAutoGrow?: boolean;
    /** Days of point-in-time-restore backups, 7 to 35. Default: 7, or 35 when `production` is on. */
    backupRetentionDays?: number;
    /** Copy backups to the paired region (only settable when the server is created). Default: false. */
    geoRedundantBackup?: boolean;
    /** A zone-redundant standby with automatic failover. Default: false. */
    highAvailability?: boolean;
    /** Production defaults (35 days of backups). Default: false. */
    production?: boolean;
    /** Application database created on the server. Default: `platform`. */
    databaseName?: string;
    /** Password-authenticated administrator (Vault's database engine logs in as it). Default: `platform_admin`. */
    adminUsername?: string;
    /** Entra ID administrator, alongside the password one. Default: none (Entra ID auth on, no Entra admin). */
    entraAdmin?: AzurePostgresEntraAdmin;
    /** Entra tenant for Entra ID authentication. Default: the subscription's tenant. */
    tenantId?: string;
    /** Record ids this server needs. Default: `["cluster"]` (the AksCluster whose subnet it uses). */
    dependsOnRecords?: string[];
    /** Protect the server and its database from `pulumi destroy`. Default: false. */
    protect?: boolean;
}

const defaults = {
    extraTags: {} as Record<string, string>,
    version: "17" as PostgresMajorVersion,
    skuName: "Standard_D2ds_v5",
    skuTier: "GeneralPurpose" as (typeof AZURE_POSTGRES_SKU_TIERS)[number],
    storageSizeGb: 64,
    storageAutoGrow: true,
    geoRedundantBackup: false,
    highAvailability: false,
    production: false,
    databaseName: "platform",
    adminUsername: "platform_admin",
    dependsOnRecords: [RECORD_IDS.cluster],
    protect: false,
};

/** The args over the defaults; an arg set to `undefined` keeps its default. */
function resolve(args: AzurePostgresServerArgs) {
    const given = Object.fromEntries(Object.entries(args).filter(([, v]) => v !== undefined)) as AzurePostgresServerArgs;
    const a = { ...defaults, ...given };
    return { ...a, backupRetentionDays: given.backupRetentionDays ?? (a.production ? 35 : 7) };
}

const onOff = (on: boolean) => (on ? "Enabled" : "Disabled");

/** Throws a message naming the setting, the bad value and what is allowed; touches no resource. */
export function validateAzurePostgresServerArgs(name: string, args: AzurePostgresServerArgs): void {
    const a = resolve(args);
    const fail = (msg: string): never => {
        throw new Error(`azure postgres "${name}": ${msg}`);
    };
    // The server name (and its DNS name) is derived from the component name plus a random suffix.
    if (!/^[a-z][a-z0-9-]{0,38}[a-z0-9]$/.test(name)) {
        fail(`name "${name}" must be 2-40 lower-case letters, digits or '-' (it becomes the server's DNS name)`);
    }
    if (!(POSTGRES_MAJOR_VERSIONS as readonly string[]).includes(a.version)) {
        fail(`version is "${a.version}"; allowed: ${POSTGRES_MAJOR_VERSIONS.join(", ")}`);
    }
    if (!(AZURE_POSTGRES_SKU_TIERS as readonly string[]).includes(a.skuTier)) {
        fail(`skuTier is "${a.skuTier}"; allowed: ${AZURE_POSTGRES_SKU_TIERS.join(", ")}`);
    }
    if (!/^Standard_[A-Za-z0-9_]+$/.test(a.skuName)) {
        fail(`skuName is "${a.skuName}"; allowed: an Azure VM size such as Standard_D2ds_v5`);
    }
    if (a.highAvailability && a.skuTier === "Burstable") {
        fail("highAvailability is true with skuTier Burstable; allowed: skuTier GeneralPurpose or MemoryOptimized");
    }
    if (!(AZURE_POSTGRES_STORAGE_SIZES_GB as readonly number[]).includes(a.storageSizeGb)) {
        fail(`storageSizeGb is ${a.storageSizeGb}; allowed: ${AZURE_POSTGRES_STORAGE_SIZES_GB.join(", ")}`);
    }
    if (!Number.isInteger(a.backupRetentionDays) || a.backupRetentionDays < 7 || a.backupRetentionDays > 35) {
        fail(`backupRetentionDays is ${a.backupRetentionDays}; allowed: an integer from 7 to 35`);
    }
    const identifier = /^[a-z_][a-z0-9_]{0,62}$/;
    if (!identifier.test(a.databaseName) || RESERVED_DATABASES.includes(a.databaseName)) {
        fail(`databaseName is "${a.databaseName}"; allowed: lower-case letters, digits and '_', not ${RESERVED_DATABASES.join(", ")}`);
    }
    if (!identifier.test(a.adminUsername) || a.adminUsername.startsWith("pg_") || RESERVED_LOGINS.includes(a.adminUsername)) {
        fail(
            `adminUsername is "${a.adminUsername}"; allowed: lower-case letters, digits and '_', ` +
                `not starting with pg_, not ${RESERVED_LOGINS.join(", ")}`,
        );
    }
    const admin = a.entraAdmin;
    if (admin) {
        if (!GUID.test(admin.objectId)) fail(`entraAdmin.objectId is "${admin.objectId}"; allowed: an Entra ID object id (GUID)`);
        if (!(ENTRA_PRINCIPAL_TYPES as readonly string[]).includes(admin.principalType)) {
            fail(`entraAdmin.principalType is "${admin.principalType}"; allowed: ${ENTRA_PRINCIPAL_TYPES.join(", ")}`);
        }
        if (admin.principalName.trim() === "") fail("entraAdmin.principalName is empty; allowed: the principal's display name");
    }
}

const TYPE: ComponentType = "platform:postgres:AzurePostgresServer";

/**
 * Azure Database for PostgreSQL Flexible Server, reachable only inside the
 * VNet (delegated subnet + private DNS zone, no public access), TLS required,
 * Entra ID and password authentication, an application database and a
 * generated administrator password for Vault's database secrets engine.
 */
export class AzurePostgresServer extends pulumi.ComponentResource implements PostgresServer {
    public readonly host: pulumi.Output<string>;
    public readonly port = pulumi.output(5432);
    public readonly databaseName: pulumi.Output<string>;
    public readonly adminUsername: pulumi.Output<string>;
    public readonly adminPassword: pulumi.Output<string>;
    public readonly requireTls = true;
    public readonly records: ResourceRecord[];
    /** The server's Azure name (for `az postgres flexible-server` and diagnostics). */
    public readonly serverName: pulumi.Output<string>;

    constructor(name: string, args: AzurePostgresServerArgs, opts?: pulumi.ComponentResourceOptions) {
        validateAzurePostgresServerArgs(name, args);
        super(TYPE, name, {}, opts);
        const a = resolve(args);
        const tags = cloudTags(a.tags, a.extraTags);
        const rg = a.resourceGroupName;

        // Flexible Server requires the zone name to end in `.postgres.database.azure.com`.
        const zone = new privatedns.PrivateZone(`${name}-dns`, {
            resourceGroupName: rg, privateZoneName: `${name}.private.postgres.database.azure.com`, location: "global", tags,
        }, { parent: this });
        const link = new privatedns.VirtualNetworkLink(`${name}-dns-link`, {
            resourceGroupName: rg, privateZoneName: zone.name, location: "global",
            virtualNetwork: { id: a.virtualNetworkId }, registrationEnabled: false, tags,
        }, { parent: this });

        // URL-safe specials only: Vault's connection_url embeds the password in a URL.
        const password = new RandomPassword(`${name}-admin-password`, {
            length: 32, special: true, overrideSpecial: "-_.", minLower: 2, minUpper: 2, minNumeric: 2, minSpecial: 1,
        }, { parent: this });
        // Secret explicitly, whatever the provider marks: it goes into the server's inputs and state.
        this.adminPassword = pulumi.secret(password.result);

        const server = new dbforpostgresql.Server(`${name}-server`, {
            resourceGroupName: rg,
            location: a.location,
            version: a.version,
            sku: { name: a.skuName, tier: a.skuTier },
            storage: { storageSizeGB: a.storageSizeGb, autoGrow: onOff(a.storageAutoGrow) },
            backup: { backupRetentionDays: a.backupRetentionDays, geoRedundantBackup: onOff(a.geoRedundantBackup) },
            highAvailability: { mode: a.highAvailability ? "ZoneRedundant" : "Disabled" },
            // Private access only: the server lives in the delegated subnet and has no public endpoint.
            network: {
                delegatedSubnetResourceId: a.delegatedSubnetId,
                privateDnsZoneArmResourceId: zone.id,
                publicNetworkAccess: "Disabled",
            },
            // Both: people and workloads sign in with Entra ID; Vault's database engine needs a password login.
            authConfig: { activeDirectoryAuth: "Enabled", passwordAuth: "Enabled", tenantId: a.tenantId },
            administratorLogin: a.adminUsername,
            administratorLoginPassword: this.adminPassword,
            tags,
        }, {
            parent: this, protect: a.protect,
            // The zone must be linked to the VNet before the server registers its record in it.
            dependsOn: [link],
        });

        // The default is already on; declaring it keeps anyone from switching it off unnoticed.
        // One at a time below: the server runs one management operation at a time (ServerIsBusy).
        const onServer = { resourceGroupName: rg, serverName: server.name };
        const requireTls = new dbforpostgresql.Configuration(`${name}-require-tls`, {
            ...onServer, configurationName: "require_secure_transport", value: "on", source: "user-override",
        }, { parent: this });
        const database = new dbforpostgresql.Database(`${name}-database`, {
            ...onServer, databaseName: a.databaseName, charset: "UTF8", collation: "en_US.utf8",
        }, { parent: this, protect: a.protect, dependsOn: [requireTls] });
        if (a.entraAdmin) {
            new dbforpostgresql.AdministratorsMicrosoftEntra(`${name}-entra-admin`, {
                ...onServer, tenantId: a.tenantId, ...a.entraAdmin,
            }, { parent: this, dependsOn: [database] });
        }

        this.serverName = server.name;
        this.host = server.fullyQualifiedDomainName;
        // Resolves once the database exists, so consumers wait for it.
        this.databaseName = database.id.apply(() => a.databaseName);
        this.adminUsername = pulumi.output(a.adminUsername);
        this.records = [resourceRecord(TYPE, {
            id: RECORD_IDS.postgres,
            count: a.highAvailability ? 2 : 1,
            status: "deployed",
            entrypoints: [this.host.apply((h) => `postgresql://${h}:5432/${a.databaseName}?sslmode=require`)],
            statusEndpoints: [],
            dependsOn: a.dependsOnRecords,
        })];
        this.registerOutputs({
            host: this.host, databaseName: this.databaseName, adminUsername: this.adminUsername, serverName: this.serverName,
        });
    }
}
