import type * as pulumi from "@pulumi/pulumi";
import { beforeAll, beforeEach, describe, expect, it } from "vitest";

import { expectDistinctInstances, settled, setupComponent, TEST_CLOUD_TAGS, TEST_TAGS as tags } from "../../test/helpers/component";
import { isSecret, MockSession, settle, valueOf } from "../../test/helpers/mocks";
import { takesTags } from "../../test/helpers/taggable";

const T = {
    instance: "aws:rds/instance:Instance",
    key: "aws:kms/key:Key",
    sg: "aws:ec2/securityGroup:SecurityGroup",
    ingress: "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
    subnetGroup: "aws:rds/subnetGroup:SubnetGroup",
    params: "aws:rds/parameterGroup:ParameterGroup",
    role: "aws:iam/role:Role",
};
const secretArn = (name: string) => `arn:aws:secretsmanager:eu-central-1:111122223333:secret:rds!${name}`;

let session: MockSession;
let mod: typeof import("./aws");
const secretReads: unknown[] = [];

beforeAll(async () => {
    ({ session, mod } = await setupComponent(() => import("./aws"), {
        calls: {
            "aws:secretsmanager/getSecretVersion:getSecretVersion": (inputs) => {
                secretReads.push(inputs.secretId);
                return { secretId: inputs.secretId, secretString: JSON.stringify({ username: "platform_admin", password: "rds-generated" }) };
            },
        },
        state: {
            [T.key]: (_, name) => ({ arn: `arn:aws:kms:eu-central-1:111122223333:key/${name}` }),
            [T.role]: (_, name) => ({ name, arn: `arn:aws:iam::111122223333:role/${name}` }),
            [T.subnetGroup]: (_, name) => ({ name }),
            [T.params]: (_, name) => ({ name }),
            [T.instance]: (_, name) => ({
                address: `${name}.abc123.eu-central-1.rds.amazonaws.com`,
                masterUserSecrets: [{ secretArn: secretArn(name), kmsKeyId: "aws/secretsmanager", secretStatus: "active" }],
            }),
        },
    }));
});
beforeEach(() => {
    session.reset();
    secretReads.length = 0;
});

type Args = import("./aws").RdsPostgresServerArgs;
const base: Args = {
    region: "eu-central-1",
    vpcId: "vpc-123",
    subnetIds: ["subnet-a", "subnet-b"],
    allowedCidrs: ["10.0.0.0/19"],
    tags,
};
const build = (name: string, args: Args = base) => settled(session, () => new mod.RdsPostgresServer(name, args));

describe("validateRdsPostgresServerArgs", () => {
    const cases: [string, Partial<Args>, RegExp][] = [
        ["a malformed region", { region: "Frankfurt" }, /region is "Frankfurt"; allowed: an AWS region name/],
        ["one subnet", { subnetIds: ["subnet-a"] }, /subnetIds has 1 subnet\(s\); allowed: at least 2/],
        ["a malformed client CIDR", { allowedCidrs: ["10.0.0.1/16"] }, /allowedCidrs contains "10\.0\.0\.1\/16"; allowed: IPv4 network addresses/],
        ["the whole internet as client", { allowedCidrs: ["0.0.0.0/0"] }, /allowedCidrs contains 0\.0\.0\.0\/0/],
        ["no clients at all", { allowedCidrs: [] }, /allowedCidrs and allowedSecurityGroupIds are both empty/],
        ["an unsupported major version", { version: "15" as "16" }, /version is "15"; allowed: 16, 17/],
        ["a malformed instance class", { instanceClass: "m7g.large" }, /instanceClass is "m7g\.large"; allowed: an RDS instance class/],
        ["too little storage", { allocatedStorage: 10 }, /allocatedStorage is 10; allowed: a whole number from 20 to 65536/],
        ["an autoscaling ceiling below the size", { allocatedStorage: 200 }, /maxAllocatedStorage is 100, below allocatedStorage 200/],
        ["a bad database name", { databaseName: "App-DB" }, /databaseName is "App-DB"; allowed: 1-63 lower-case/],
        ["a reserved admin user", { adminUsername: "rdsadmin" }, /adminUsername is "rdsadmin"; allowed: .*not pg_\* nor rdsadmin/],
        ["a pg_ admin user", { adminUsername: "pg_admin" }, /adminUsername is "pg_admin"/],
        ["backups off", { backupRetentionDays: 0 }, /backupRetentionDays is 0; allowed: a whole number from 1 to 35/],
        ["backups beyond 35 days", { backupRetentionDays: 60 }, /backupRetentionDays is 60/],
        ["short backups in production", { backupRetentionDays: 3, production: true }, /backupRetentionDays is 3 with production on; allowed: 7 to 35/],
        ["an odd monitoring interval", { monitoringIntervalSeconds: 20 }, /monitoringIntervalSeconds is 20; allowed: 0, 1, 5, 10, 15, 30, 60/],
    ];
    it.each(cases)("rejects %s, naming the setting", (_, override, message) => {
        expect(() => mod.validateRdsPostgresServerArgs("db", { ...base, ...override })).toThrow(message);
        expect(() => mod.validateRdsPostgresServerArgs("db", { ...base, ...override })).toThrow(/^postgres "db": /);
    });

    it("accepts the defaults, and security groups as the only clients", () => {
        expect(() => mod.validateRdsPostgresServerArgs("db", base)).not.toThrow();
        expect(() => mod.validateRdsPostgresServerArgs("db", { ...base, allowedCidrs: [], allowedSecurityGroupIds: ["sg-1"] })).not.toThrow();
    });
});

describe("RdsPostgresServer", () => {
    it("puts the five required tags on every taggable AWS resource, and extras cannot override them", async () => {
        await build("tagged", { ...base, production: true, allowedSecurityGroupIds: ["sg-eks"], extraTags: { owner: "intruder", team: "payments" } });
        const aws = session.resources.filter((r) => r.type.startsWith("aws:"));
        const taggable = aws.filter((r) => takesTags(r.type));
        expect(new Set(taggable.map((r) => r.type))).toEqual(new Set([T.instance, T.key, T.sg, T.ingress, T.subnetGroup, T.params, T.role]));
        for (const r of taggable) {
            expect(r.inputs.tags, `${r.type} ${r.name}`).toMatchObject({ ...TEST_CLOUD_TAGS, team: "payments" });
        }
        expect(takesTags("aws:iam/rolePolicyAttachment:RolePolicyAttachment")).toBe(false);
        expect(aws.length).toBeGreaterThan(taggable.length);
    });

    it("is private, encrypted with its own rotating key, and forces TLS", async () => {
        const db = await build("main");
        const key = session.get(T.key, "main-storage");
        expect(key.inputs.enableKeyRotation).toBe(true);
        const inputs = session.get(T.instance, "main-db").inputs;
        expect(inputs).toMatchObject({
            engine: "postgres",
            engineVersion: "17",
            publiclyAccessible: false,
            storageEncrypted: true,
            kmsKeyId: "arn:aws:kms:eu-central-1:111122223333:key/main-storage",
            copyTagsToSnapshot: true,
            autoMinorVersionUpgrade: true,
            dbSubnetGroupName: "main-subnets",
            parameterGroupName: "main-params",
            vpcSecurityGroupIds: ["main-sg-id"],
        });
        expect(session.get(T.subnetGroup, "main-subnets").inputs.subnetIds).toEqual(["subnet-a", "subnet-b"]);
        expect(session.get(T.params, "main-params").inputs).toMatchObject({
            family: "postgres17",
            parameters: [{ name: "rds.force_ssl", value: "1" }],
        });
        expect(db.requireTls).toBe(true);
    });

    it("uses a given KMS key instead of creating one", async () => {
        await build("byok", { ...base, kmsKeyArn: "arn:aws:kms:eu-central-1:111122223333:key/shared" });
        expect(session.ofType(T.key)).toHaveLength(0);
        expect(session.get(T.instance, "byok-db").inputs.kmsKeyId).toBe("arn:aws:kms:eu-central-1:111122223333:key/shared");
    });

    it("lets RDS manage the password: none in the inputs, read back from Secrets Manager as a secret", async () => {
        const db = await build("pw");
        const inputs = session.get(T.instance, "pw-db").inputs;
        expect(inputs.manageMasterUserPassword).toBe(true);
        expect(inputs).not.toHaveProperty("password");
        expect(inputs).not.toHaveProperty("passwordWo");
        expect(await isSecret(db.adminPassword)).toBe(true);
        expect(await valueOf(db.adminPassword)).toBe("rds-generated");
        expect(secretReads).toEqual([secretArn("pw-db")]);
        expect(await valueOf(db.adminUsername)).toBe("platform_admin");
        expect(await valueOf(db.host)).toBe("pw-db.abc123.eu-central-1.rds.amazonaws.com");
        expect(await valueOf(db.port)).toBe(5432);
        expect(await valueOf(db.databaseName)).toBe("platform");
        expect(await valueOf(db.records[0].entrypoints[0] as pulumi.Output<string>)).toBe(
            "postgresql://pw-db.abc123.eu-central-1.rds.amazonaws.com:5432/platform?sslmode=require",
        );
    });

    it("admits 5432 only, from the given CIDRs and security groups", async () => {
        await build("net", { ...base, allowedCidrs: ["10.0.0.0/19", "10.0.32.0/19"], allowedSecurityGroupIds: ["sg-eks"] });
        const sg = session.get(T.sg, "net-sg").inputs;
        expect(sg.vpcId).toBe("vpc-123");
        expect(sg).not.toHaveProperty("ingress");
        expect(sg).not.toHaveProperty("egress");
        const rules = session.ofType(T.ingress).map((r) => r.inputs);
        expect(rules).toHaveLength(3);
        for (const rule of rules) {
            expect(rule).toMatchObject({ securityGroupId: "net-sg-id", ipProtocol: "tcp", fromPort: 5432, toPort: 5432 });
        }
        expect(rules.map((r) => r.cidrIpv4 ?? r.referencedSecurityGroupId)).toEqual(["10.0.0.0/19", "10.0.32.0/19", "sg-eks"]);
    });

    it("keeps 7 days of backups by default and 35, multi-AZ and monitoring in production", async () => {
        new mod.RdsPostgresServer("dev", base);
        new mod.RdsPostgresServer("prod", { ...base, production: true });
        new mod.RdsPostgresServer("own", { ...base, production: true, backupRetentionDays: 14, multiAz: false });
        await settle(session);
        expect(session.get(T.instance, "dev-db").inputs).toMatchObject({ backupRetentionPeriod: 7, multiAz: false, monitoringInterval: 0, performanceInsightsEnabled: false });
        expect(session.get(T.instance, "prod-db").inputs).toMatchObject({
            backupRetentionPeriod: 35,
            multiAz: true,
            performanceInsightsEnabled: true,
            performanceInsightsKmsKeyId: "arn:aws:kms:eu-central-1:111122223333:key/prod-storage",
            monitoringInterval: 60,
            monitoringRoleArn: "arn:aws:iam::111122223333:role/prod-monitoring",
        });
        expect(session.get(T.instance, "own-db").inputs).toMatchObject({ backupRetentionPeriod: 14, multiAz: false });
        expect(session.ofType(T.role).map((r) => r.name)).toEqual(expect.arrayContaining(["prod-monitoring", "own-monitoring"]));
        expect(session.ofType(T.role).map((r) => r.name)).not.toContain("dev-monitoring");
    });

    it("with protect: deletion protection, a final snapshot, kept backups and Pulumi protect on instance and key", async () => {
        new mod.RdsPostgresServer("keep", { ...base, protect: true });
        new mod.RdsPostgresServer("temp", base);
        await settle(session);
        expect(session.get(T.instance, "keep-db").inputs).toMatchObject({
            deletionProtection: true,
            skipFinalSnapshot: false,
            finalSnapshotIdentifier: "snap-keep-test-final",
            deleteAutomatedBackups: false,
        });
        expect(session.get(T.instance, "temp-db").inputs).toMatchObject({ deletionProtection: false, skipFinalSnapshot: true });
        expect(session.get(T.instance, "temp-db").inputs).not.toHaveProperty("finalSnapshotIdentifier");
        expect(session.get(T.instance, "keep-db").protect).toBe(true);
        expect(session.get(T.key, "keep-storage").protect).toBe(true);
        expect(session.get(T.instance, "temp-db").protect).toBe(false);
    });

    it("names children after the instance, so two instances do not collide", async () => {
        new mod.RdsPostgresServer("a", base);
        new mod.RdsPostgresServer("b", base);
        await settle(session);
        expectDistinctInstances(session, ["a", "b"], "custom");
        expect(session.ofType(T.instance)).toHaveLength(2);
    });
});
