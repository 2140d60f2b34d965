import { ResourceValidationPolicy } from "@pulumi/policy";

export interface BackupConfig {
    /** Fewest days backups are kept. */
    minBackupRetentionDays: number;
}

export const DEFAULT_BACKUP: BackupConfig = { minBackupRetentionDays: 7 };

interface Props {
    storageEncrypted?: boolean;
    backupRetentionPeriod?: number;
    backup?: { backupRetentionDays?: number };
    spec?: { backup?: unknown; plugins?: { name?: string }[] };
    encrypted?: boolean;
}

/** Postgres and block storage are encrypted, and databases keep backups. */
export const databaseEncryptedBackedUp: ResourceValidationPolicy = {
    name: "database-encrypted-backed-up",
    description: "Postgres and block storage are encrypted at rest, and databases keep backups for at least the configured days.",
    enforcementLevel: "mandatory",
    configSchema: { properties: { minBackupRetentionDays: { type: "integer", minimum: 1, default: DEFAULT_BACKUP.minBackupRetentionDays } } },
    validateResource: (args, reportViolation) => {
        const config = { ...DEFAULT_BACKUP, ...args.getConfig<Partial<BackupConfig>>() };
        const p = args.props as Props;
        const min = config.minBackupRetentionDays;
        const at = `${args.urn} (${args.type})`;
        switch (args.type) {
            case "aws:rds/instance:Instance":
                if (p.storageEncrypted !== true) {
                    reportViolation(`${at}: storageEncrypted is not true`);
                }
                if ((p.backupRetentionPeriod ?? 0) < min) {
                    reportViolation(`${at}: backupRetentionPeriod is ${p.backupRetentionPeriod ?? "unset"}; at least ${min} days`);
                }
                return;
            case "aws:ebs/volume:Volume":
                if (p.encrypted !== true) {
                    reportViolation(`${at}: encrypted is not true`);
                }
                return;
            case "azure-native:dbforpostgresql:Server":
                // Azure encrypts Flexible Server storage always; retention is ours to set.
                if ((p.backup?.backupRetentionDays ?? 7) < min) {
                    reportViolation(`${at}: backup.backupRetentionDays is ${p.backup?.backupRetentionDays ?? "unset (Azure's default, 7)"}; at least ${min} days`);
                }
                return;
            case "kubernetes:postgresql.cnpg.io/v1:Cluster": {
                const plugins = p.spec?.plugins ?? [];
                if (!p.spec?.backup && !plugins.some((x) => x.name === "barman-cloud.cloudnative-pg.io")) {
                    reportViolation(`${at}: no backups (neither the Barman Cloud plugin nor spec.backup)`);
                }
                return;
            }
        }
    },
};
