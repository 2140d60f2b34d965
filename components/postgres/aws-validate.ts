import type { RdsPostgresServerArgs } from "./aws-args";
import { POSTGRES_MAJOR_VERSIONS } from "./types";

const REGION_PATTERN = /^[a-z]{2}(-[a-z]+)+-\d$/;
const CIDR_PATTERN = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/;
const MONITORING_INTERVALS = [0, 1, 5, 10, 15, 30, 60];
/** Roles Postgres or RDS keep for themselves. */
const RESERVED_USERNAMES = ["rdsadmin", "postgres", "public"];

/** Whether `cidr` is an IPv4 network address (no host bits set), as security group rules require. */
function isIpv4Network(cidr: string): boolean {
    const m = CIDR_PATTERN.exec(cidr);
    if (!m) {
        return false;
    }
    const octets = m.slice(1, 5).map(Number);
    const prefix = Number(m[5]);
    if (octets.some((o) => o > 255) || prefix > 32) {
        return false;
    }
    const address = octets.reduce((acc, o) => acc * 256 + o, 0);
    return address % 2 ** (32 - prefix) === 0;
}

/**
 * Throws a message naming the setting, the bad value and what is allowed.
 * Pure: no resource is registered and no cloud API is called.
 */
export function validateRdsPostgresServerArgs(name: string, args: RdsPostgresServerArgs): void {
    const fail = (message: string) => {
        throw new Error(`postgres "${name}": ${message}`);
    };
    const checkInt = (setting: string, value: number | undefined, min: number, max: number) => {
        if (value !== undefined && (!Number.isInteger(value) || value < min || value > max)) {
            fail(`${setting} is ${value}; allowed: a whole number from ${min} to ${max}`);
        }
    };

    if (!REGION_PATTERN.test(args.region)) {
        fail(`region is "${args.region}"; allowed: an AWS region name such as eu-central-1`);
    }
    if (args.subnetIds.length < 2) {
        fail(`subnetIds has ${args.subnetIds.length} subnet(s); allowed: at least 2, in different availability zones (RDS requires it)`);
    }
    const cidrs = args.allowedCidrs ?? [];
    const bad = cidrs.find((c) => !isIpv4Network(c));
    if (bad !== undefined) {
        fail(`allowedCidrs contains "${bad}"; allowed: IPv4 network addresses such as 10.0.0.0/19`);
    }
    if (cidrs.some((c) => c.endsWith("/0"))) {
        fail(`allowedCidrs contains 0.0.0.0/0; allowed: the ranges of the clients only`);
    }
    if (cidrs.length === 0 && (args.allowedSecurityGroupIds ?? []).length === 0) {
        fail(`allowedCidrs and allowedSecurityGroupIds are both empty; allowed: at least one client CIDR or security group`);
    }
    if (args.version !== undefined && !(POSTGRES_MAJOR_VERSIONS as readonly string[]).includes(args.version)) {
        fail(`version is "${String(args.version)}"; allowed: ${POSTGRES_MAJOR_VERSIONS.join(", ")}`);
    }
    if (args.instanceClass !== undefined && !/^db\.[a-z0-9]+\.[a-z0-9]+$/.test(args.instanceClass)) {
        fail(`instanceClass is "${args.instanceClass}"; allowed: an RDS instance class such as db.t4g.medium or db.m7g.large`);
    }
    checkInt("allocatedStorage", args.allocatedStorage, 20, 65536);
    checkInt("maxAllocatedStorage", args.maxAllocatedStorage, 20, 65536);
    const allocated = args.allocatedStorage ?? 20;
    const ceiling = args.maxAllocatedStorage ?? 100;
    if (ceiling < allocated) {
        fail(`maxAllocatedStorage is ${ceiling}, below allocatedStorage ${allocated}; allowed: at least allocatedStorage`);
    }
    if (args.databaseName !== undefined && !/^[a-z][a-z0-9_]{0,62}$/.test(args.databaseName)) {
        fail(`databaseName is "${args.databaseName}"; allowed: 1-63 lower-case letters, digits or '_', starting with a letter`);
    }
    if (args.adminUsername !== undefined) {
        const user = args.adminUsername;
        if (!/^[a-z][a-z0-9_]{0,62}$/.test(user) || user.startsWith("pg_") || RESERVED_USERNAMES.includes(user)) {
            fail(
                `adminUsername is "${user}"; allowed: 1-63 lower-case letters, digits or '_', starting with a letter, ` +
                    `not pg_* nor ${RESERVED_USERNAMES.join(", ")}`,
            );
        }
    }
    // 0 would turn automated backups (and point-in-time recovery) off.
    checkInt("backupRetentionDays", args.backupRetentionDays, 1, 35);
    if (args.production && args.backupRetentionDays !== undefined && args.backupRetentionDays < 7) {
        fail(`backupRetentionDays is ${args.backupRetentionDays} with production on; allowed: 7 to 35`);
    }
    if (args.monitoringIntervalSeconds !== undefined && !MONITORING_INTERVALS.includes(args.monitoringIntervalSeconds)) {
        fail(`monitoringIntervalSeconds is ${args.monitoringIntervalSeconds}; allowed: ${MONITORING_INTERVALS.join(", ")}`);
    }
}
