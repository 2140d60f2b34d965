// Only @pulumi/aws submodules: the package root loads every AWS service (seconds of cold start).
import * as ec2 from "@pulumi/aws/ec2";
import * as iam from "@pulumi/aws/iam";
import * as kms from "@pulumi/aws/kms";
import * as rds from "@pulumi/aws/rds";
import * as secretsmanager from "@pulumi/aws/secretsmanager";
import * as vpc from "@pulumi/aws/vpc";
import * as pulumi from "@pulumi/pulumi";

import { ResourceRecord } from "../shared/records";
import { cloudTags, StandardTags } from "../shared/tags";
import { PostgresMajorVersion, PostgresServer } from "./types";
import { validateRdsPostgresServerArgs } from "./aws-validate";

export { validateRdsPostgresServerArgs } from "./aws-validate";

export interface RdsPostgresServerArgs {
    /** AWS region of the server. Required. */
    region: string;
    /** VPC of the security group. Required. */
    vpcId: pulumi.Input<string>;
    /** Private subnets of the DB subnet group, in at least 2 availability zones. Required. */
    subnetIds: pulumi.Input<string>[];
    /** IPv4 ranges allowed to connect on 5432 (not 0.0.0.0/0). Default: none. At least one CIDR or security group is required. */
    allowedCidrs?: string[];
    /** Security groups allowed to connect on 5432, e.g. `EksCluster.clusterSecurityGroupId`. Default: none. */
    allowedSecurityGroupIds?: pulumi.Input<string>[];
    /** Postgres major version, one of `POSTGRES_MAJOR_VERSIONS`; minors follow RDS auto-upgrades. Default: "17". */
    version?: PostgresMajorVersion;
    /** RDS instance class. Default: `db.t4g.medium`. */
    instanceClass?: string;
    /** Initial gp3 storage in GiB, 20 to 65536. Default: 20. */
    allocatedStorage?: number;
    /** Storage autoscaling ceiling in GiB, at least `allocatedStorage`. Default: 100. */
    maxAllocatedStorage?: number;
    /** Application database created with the server. Default: `platform`. */
    databaseName?: string;
    /** Master user (its password is generated and kept in Secrets Manager by RDS). Default: `platform_admin`. */
    adminUsername?: string;
    /** Days of automated backups (point-in-time recovery), 1 to 35. Default: 7; 35 with `production`. */
    backupRetentionDays?: number;
    /** Standby in a second zone with automatic failover. Default: false; true with `production`. */
    multiAz?: boolean;
    /** KMS key ARN for storage, snapshots and Performance Insights. Default: a key of its own, rotation on. */
    kmsKeyArn?: pulumi.Input<string>;
    /** Performance Insights (7 days retention, the free tier). Default: false; true with `production`. */
    performanceInsights?: boolean;
    /** Enhanced monitoring interval in seconds: 0 (off), 1, 5, 10, 15, 30 or 60. Default: 0; 60 with `production`. */
    monitoringIntervalSeconds?: number;
    /** Production defaults (see the fields above). Default: false. */
    production?: boolean;
    /** Pulumi `protect`, RDS deletion protection, a final snapshot and kept backups on delete. Default: false. */
    protect?: boolean;
    /** The environment's standard tags, on every taggable child. Required. */
    tags: StandardTags;
    /** Extra tags on every taggable child; the standard tags win on conflict. Default: none. */
    extraTags?: Record<string, string>;
}

const defaults = {
    allowedCidrs: [] as string[],
    allowedSecurityGroupIds: [] as pulumi.Input<string>[],
    version: "17" as PostgresMajorVersion,
    instanceClass: "db.t4g.medium",
    allocatedStorage: 20,
    maxAllocatedStorage: 100,
    databaseName: "platform",
    adminUsername: "platform_admin",
    backupRetentionDays: 7,
    multiAz: false,
    performanceInsights: false,
    monitoringIntervalSeconds: 0,
    production: false,
    protect: false,
    extraTags: {} as Record<string, string>,
};
/** Merged over `defaults` (and under the args) when `production` is on. */
const productionDefaults = { backupRetentionDays: 35, multiAz: true, performanceInsights: true, monitoringIntervalSeconds: 60 };

/** Defaults under the args; an explicit `undefined` keeps the default. */
export function resolveRdsPostgresServerArgs(args: RdsPostgresServerArgs) {
    const given = Object.fromEntries(Object.entries(args).filter(([, v]) => v !== undefined)) as Partial<RdsPostgresServerArgs>;
    return {
        ...defaults,
        ...(args.production ? productionDefaults : {}),
        ...given,
        region: args.region,
        vpcId: args.vpcId,
        subnetIds: args.subnetIds,
        tags: args.tags,
        kmsKeyArn: args.kmsKeyArn,
    };
}

const PORT = 5432;

/**
 * PostgreSQL on Amazon RDS, private only: in the given subnets, reachable on
 * 5432 from the given CIDRs / security groups, encrypted with KMS, TLS
 * enforced, the master password generated and kept in Secrets Manager by RDS.
 */
export class RdsPostgresServer extends pulumi.ComponentResource implements PostgresServer {
    public readonly host: pulumi.Output<string>;
    public readonly port: pulumi.Output<number>;
    public readonly databaseName: pulumi.Output<string>;
    public readonly adminUsername: pulumi.Output<string>;
    public readonly adminPassword: pulumi.Output<string>;
    public readonly requireTls = true;
    public readonly records: ResourceRecord[];
    /** ARN of the Secrets Manager secret RDS keeps the master credentials in (rotated by RDS). */
    public readonly adminSecretArn: pulumi.Output<string>;
    /** The server's security group (add rules for more clients). */
    public readonly securityGroupId: pulumi.Output<string>;

    constructor(name: string, args: RdsPostgresServerArgs, opts?: pulumi.ComponentResourceOptions) {
        validateRdsPostgresServerArgs(name, args);
        super("platform:postgres:RdsPostgresServer", name, {}, opts);

        const a = resolveRdsPostgresServerArgs(args);
        const region = a.region;
        const tags = cloudTags(a.tags, a.extraTags);
        const child = { parent: this };

        // Losing the key loses every snapshot, so it is protected like the data.
        const keyArn =
            a.kmsKeyArn ??
            new kms.Key(
                `${name}-storage`,
                { region, description: `RDS ${name}: storage, snapshots, Performance Insights`, enableKeyRotation: true, deletionWindowInDays: 30, tags },
                { parent: this, protect: a.protect },
            ).arn;

        // No egress rules: the provider removes the default allow-all egress, and a database needs none.
        const sg = new ec2.SecurityGroup(
            `${name}-sg`,
            { region, vpcId: a.vpcId, description: `Postgres ${name}: clients on ${PORT}`, tags },
            child,
        );
        const rule = (suffix: string, from: { cidrIpv4?: string; referencedSecurityGroupId?: pulumi.Input<string> }) =>
            new vpc.SecurityGroupIngressRule(
                `${name}-from-${suffix}`,
                { region, securityGroupId: sg.id, ipProtocol: "tcp", fromPort: PORT, toPort: PORT, ...from, tags },
                child,
            );
        a.allowedCidrs.forEach((cidrIpv4, i) => rule(`cidr-${i}`, { cidrIpv4 }));
        a.allowedSecurityGroupIds.forEach((referencedSecurityGroupId, i) => rule(`sg-${i}`, { referencedSecurityGroupId }));

        const subnetGroup = new rds.SubnetGroup(`${name}-subnets`, { region, subnetIds: a.subnetIds, tags }, child);
        const parameters = new rds.ParameterGroup(
            `${name}-params`,
            {
                region,
                family: `postgres${a.version}`,
                // Refuse unencrypted connections on the server side, whatever the client asks for.
                parameters: [{ name: "rds.force_ssl", value: "1" }],
                tags,
            },
            child,
        );

        let monitoringRoleArn: pulumi.Output<string> | undefined;
        const monitoringReady: pulumi.Resource[] = [];
        if (a.monitoringIntervalSeconds > 0) {
            const role = new iam.Role(
                `${name}-monitoring`,
                {
                    assumeRolePolicy: JSON.stringify({
                        Version: "2012-10-17",
                        Statement: [{ Effect: "Allow", Principal: { Service: "monitoring.rds.amazonaws.com" }, Action: "sts:AssumeRole" }],
                    }),
                    tags,
                },
                child,
            );
            const attachment = new iam.RolePolicyAttachment(
                `${name}-monitoring`,
                { role: role.name, policyArn: "arn:aws:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole" },
                child,
            );
            monitoringRoleArn = role.arn;
            monitoringReady.push(attachment);
        }

        const db = new rds.Instance(
            `${name}-db`,
            {
                region,
                engine: "postgres",
                // The major only: RDS picks and auto-upgrades the minor, and the provider does not diff it.
                engineVersion: a.version,
                autoMinorVersionUpgrade: true,
                allowMajorVersionUpgrade: false,
                instanceClass: a.instanceClass,
                storageType: "gp3",
                allocatedStorage: a.allocatedStorage,
                maxAllocatedStorage: a.maxAllocatedStorage,
                storageEncrypted: true,
                kmsKeyId: keyArn,
                dbName: a.databaseName,
                username: a.adminUsername,
                // RDS generates the password into Secrets Manager: it never passes through Pulumi inputs or state.
                manageMasterUserPassword: true,
                port: PORT,
                dbSubnetGroupName: subnetGroup.name,
                vpcSecurityGroupIds: [sg.id],
                parameterGroupName: parameters.name,
                publiclyAccessible: false,
                multiAz: a.multiAz,
                backupRetentionPeriod: a.backupRetentionDays,
                copyTagsToSnapshot: true,
                deletionProtection: a.protect,
                skipFinalSnapshot: !a.protect,
                finalSnapshotIdentifier: a.protect ? finalSnapshotId(name) : undefined,
                deleteAutomatedBackups: !a.protect,
                enabledCloudwatchLogsExports: ["postgresql", "upgrade"],
                performanceInsightsEnabled: a.performanceInsights,
                performanceInsightsKmsKeyId: a.performanceInsights ? keyArn : undefined,
                performanceInsightsRetentionPeriod: a.performanceInsights ? 7 : undefined,
                monitoringInterval: a.monitoringIntervalSeconds,
                monitoringRoleArn,
                tags,
            },
            // RDS checks the monitoring role's permissions when the instance is created.
            { parent: this, protect: a.protect, dependsOn: monitoringReady },
        );

        this.host = db.address;
        this.port = db.port;
        this.databaseName = db.dbName;
        this.adminUsername = db.username;
        this.securityGroupId = sg.id;
        this.adminSecretArn = db.masterUserSecrets.apply((s) => s[0]?.secretArn ?? "");
        // Read at deployment for Vault's database engine. RDS rotates the secret (7 days by default),
        // so consumers should re-read it from Secrets Manager rather than cache this value.
        this.adminPassword = pulumi.secret(
            secretsmanager
                .getSecretVersionOutput({ secretId: this.adminSecretArn, region }, child)
                .secretString.apply((s) => (JSON.parse(s) as { password: string }).password),
        );

        this.records = [
            {
                id: "postgres",
                template: "platform:postgres:RdsPostgresServer",
                count: a.multiAz ? 2 : 1,
                status: "deployed",
                entrypoints: [pulumi.interpolate`postgresql://${db.address}:${db.port}/${db.dbName}?sslmode=require`],
                statusEndpoints: [],
                dependsOn: [],
            },
        ];

        // adminPassword is left out on purpose: registered outputs are written to the state.
        this.registerOutputs({ host: this.host, port: this.port, databaseName: this.databaseName, adminSecretArn: this.adminSecretArn });
    }
}

/** Final snapshot name: unique per stack, letters, digits and single hyphens as RDS requires. */
function finalSnapshotId(name: string): string {
    const raw = `${name}-${pulumi.getStack()}-final`.toLowerCase().replace(/[^a-z0-9]+/g, "-");
    return `snap-${raw}`.slice(0, 255).replace(/-+$/, "");
}
