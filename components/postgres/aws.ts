// Only @pulumi/aws submodules: the package root loads every AWS service (seconds of cold start).
import * as ec2 from "@pulumi/aws/ec2";
import * as iam from "@pulumi/aws/iam";
import * as kms from "@pulumi/aws/kms";
import * as rds from "@pulumi/aws/rds";
import * as secretsmanager from "@pulumi/aws/secretsmanager";
import * as vpc from "@pulumi/aws/vpc";
import * as pulumi from "@pulumi/pulumi";

import { ComponentType, RECORD_IDS, ResourceRecord, resourceRecord } from "../shared/records";
import { cloudTags } from "../shared/tags";
import { RdsPostgresServerArgs, resolveRdsPostgresServerArgs } from "./aws-args";
import { PostgresServer } from "./types";
import { validateRdsPostgresServerArgs } from "./aws-validate";

// Args and checks live in their own modules (as the EKS cluster's do), so the
// validation never imports the component; re-exported as this module's API.
export type { RdsPostgresServerArgs };
export { resolveRdsPostgresServerArgs, validateRdsPostgresServerArgs };

const PORT = 5432;

const TYPE: ComponentType = "platform:postgres:RdsPostgresServer";

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
        super(TYPE, name, {}, opts);

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
            resourceRecord(TYPE, {
                id: RECORD_IDS.postgres,
                count: a.multiAz ? 2 : 1,
                status: "deployed",
                entrypoints: [pulumi.interpolate`postgresql://${db.address}:${db.port}/${db.dbName}?sslmode=require`],
                statusEndpoints: [],
                dependsOn: [],
            }),
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
