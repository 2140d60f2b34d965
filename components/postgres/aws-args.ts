import type * as pulumi from "@pulumi/pulumi";

import { StandardTags } from "../shared/tags";
import { PostgresMajorVersion } from "./types";

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
