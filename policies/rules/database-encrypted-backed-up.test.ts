import { describe, expect, it } from "vitest";

import { compliantAzurePostgresServer, compliantCnpgCluster, compliantRdsInstance, compliantTags } from "../test/fixtures";
import { violationsOf } from "../test/validate";
import { databaseEncryptedBackedUp, DEFAULT_BACKUP } from "./database-encrypted-backed-up";

const RDS = "aws:rds/instance:Instance";
const VOLUME = "aws:ebs/volume:Volume";
const AZURE_SERVER = "azure-native:dbforpostgresql:Server";
const CNPG = "kubernetes:postgresql.cnpg.io/v1:Cluster";
const at = (type: string) => `urn:pulumi:test::platform::${type}::subject (${type})`;
const monthly = { config: { minBackupRetentionDays: 30 } };

describe("database-encrypted-backed-up", () => {
    it("is mandatory and named in kebab-case", () => {
        expect(databaseEncryptedBackedUp.name).toBe("database-encrypted-backed-up");
        expect(databaseEncryptedBackedUp.enforcementLevel).toBe("mandatory");
        expect(databaseEncryptedBackedUp.description).toMatch(/encrypted at rest/);
        expect(DEFAULT_BACKUP.minBackupRetentionDays).toBe(7);
    });

    describe("RDS instances", () => {
        it("passes an encrypted instance keeping backups for the minimum", async () => {
            expect(await violationsOf(databaseEncryptedBackedUp, RDS, compliantRdsInstance())).toEqual([]);
        });

        it("reports storageEncrypted false, naming the URN and the type", async () => {
            const db = { ...compliantRdsInstance(), storageEncrypted: false };
            expect(await violationsOf(databaseEncryptedBackedUp, RDS, db)).toEqual([`${at(RDS)}: storageEncrypted is not true`]);
        });

        it("reports storageEncrypted unset (the provider's default is unencrypted)", async () => {
            const db: Partial<ReturnType<typeof compliantRdsInstance>> = compliantRdsInstance();
            delete db.storageEncrypted;
            expect(await violationsOf(databaseEncryptedBackedUp, RDS, db)).toEqual([`${at(RDS)}: storageEncrypted is not true`]);
        });

        it("reports a retention below the default minimum of 7 days", async () => {
            const db = { ...compliantRdsInstance(), backupRetentionPeriod: 6 };
            expect(await violationsOf(databaseEncryptedBackedUp, RDS, db)).toEqual([`${at(RDS)}: backupRetentionPeriod is 6; at least 7 days`]);
        });

        it("reports backups switched off", async () => {
            const db = { ...compliantRdsInstance(), backupRetentionPeriod: 0 };
            expect(await violationsOf(databaseEncryptedBackedUp, RDS, db)).toEqual([`${at(RDS)}: backupRetentionPeriod is 0; at least 7 days`]);
        });

        it("reports an unset retention", async () => {
            const db: Partial<ReturnType<typeof compliantRdsInstance>> = compliantRdsInstance();
            delete db.backupRetentionPeriod;
            expect(await violationsOf(databaseEncryptedBackedUp, RDS, db)).toEqual([`${at(RDS)}: backupRetentionPeriod is unset; at least 7 days`]);
        });

        it("honours minBackupRetentionDays from config", async () => {
            expect(await violationsOf(databaseEncryptedBackedUp, RDS, compliantRdsInstance(), "subject", monthly)).toEqual([
                `${at(RDS)}: backupRetentionPeriod is 7; at least 30 days`,
            ]);
            const db = { ...compliantRdsInstance(), backupRetentionPeriod: 30 };
            expect(await violationsOf(databaseEncryptedBackedUp, RDS, db, "subject", monthly)).toEqual([]);
        });

        it("reports each problem of an instance", async () => {
            const db = { ...compliantRdsInstance(), storageEncrypted: false, backupRetentionPeriod: 1 };
            expect(await violationsOf(databaseEncryptedBackedUp, RDS, db)).toHaveLength(2);
        });
    });

    describe("EBS volumes", () => {
        it("passes an encrypted volume", async () => {
            expect(await violationsOf(databaseEncryptedBackedUp, VOLUME, { size: 20, encrypted: true, tags: compliantTags() })).toEqual([]);
        });

        it.each([
            ["false", false],
            ["unset", undefined],
        ])("reports encrypted %s", async (_label, encrypted) => {
            expect(await violationsOf(databaseEncryptedBackedUp, VOLUME, { size: 20, encrypted, tags: compliantTags() })).toEqual([
                `${at(VOLUME)}: encrypted is not true`,
            ]);
        });
    });

    describe("Azure Flexible Servers", () => {
        it("passes a server keeping backups for the minimum", async () => {
            expect(await violationsOf(databaseEncryptedBackedUp, AZURE_SERVER, compliantAzurePostgresServer())).toEqual([]);
        });

        it("takes an unset retention as Azure's default of 7 days", async () => {
            const server = { ...compliantAzurePostgresServer(), backup: undefined };
            expect(await violationsOf(databaseEncryptedBackedUp, AZURE_SERVER, server)).toEqual([]);
            expect(await violationsOf(databaseEncryptedBackedUp, AZURE_SERVER, server, "subject", monthly)).toEqual([
                `${at(AZURE_SERVER)}: backup.backupRetentionDays is unset (Azure's default, 7); at least 30 days`,
            ]);
        });

        it("reports a retention below the minimum", async () => {
            const server = compliantAzurePostgresServer();
            server.backup.backupRetentionDays = 5;
            expect(await violationsOf(databaseEncryptedBackedUp, AZURE_SERVER, server)).toEqual([
                `${at(AZURE_SERVER)}: backup.backupRetentionDays is 5; at least 7 days`,
            ]);
        });

        it("honours minBackupRetentionDays from config", async () => {
            const server = compliantAzurePostgresServer();
            expect(await violationsOf(databaseEncryptedBackedUp, AZURE_SERVER, server, "subject", monthly)).toEqual([
                `${at(AZURE_SERVER)}: backup.backupRetentionDays is 7; at least 30 days`,
            ]);
            server.backup.backupRetentionDays = 35;
            expect(await violationsOf(databaseEncryptedBackedUp, AZURE_SERVER, server, "subject", monthly)).toEqual([]);
        });
    });

    describe("CloudNativePG clusters", () => {
        it("passes a cluster archiving through the Barman Cloud plugin", async () => {
            expect(await violationsOf(databaseEncryptedBackedUp, CNPG, compliantCnpgCluster())).toEqual([]);
        });

        it("passes a cluster with the in-tree spec.backup", async () => {
            const cluster = compliantCnpgCluster();
            const withBackup = { ...cluster, spec: { instances: 3, backup: { barmanObjectStore: { destinationPath: "s3://backups/app-db" } } } };
            expect(await violationsOf(databaseEncryptedBackedUp, CNPG, withBackup)).toEqual([]);
        });

        it.each([
            ["no plugins", []],
            ["another plugin", [{ name: "example.com/other-plugin" }]],
        ])("reports a cluster with %s and no spec.backup", async (_label, plugins) => {
            const cluster = compliantCnpgCluster();
            cluster.spec.plugins = plugins;
            expect(await violationsOf(databaseEncryptedBackedUp, CNPG, cluster)).toEqual([
                `${at(CNPG)}: no backups (neither the Barman Cloud plugin nor spec.backup)`,
            ]);
        });
    });

    it("ignores other types", async () => {
        expect(await violationsOf(databaseEncryptedBackedUp, "aws:rds/clusterInstance:ClusterInstance", { storageEncrypted: false })).toEqual([]);
        expect(await violationsOf(databaseEncryptedBackedUp, "kubernetes:core/v1:PersistentVolumeClaim", {})).toEqual([]);
    });
});
