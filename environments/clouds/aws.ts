import { RolePolicy } from "@pulumi/aws/iam/rolePolicy";
import { Role } from "@pulumi/aws/iam/role";
import { Key } from "@pulumi/aws/kms/key";
import * as pulumi from "@pulumi/pulumi";

import { EksCluster } from "../../components/cluster/eks";
import { RdsPostgresServer } from "../../components/postgres/aws";
import { cloudTags } from "../../components/shared/tags";
import { parseCidr, subnetOf } from "../../components/shared/cidr";
import { CloudFoundationBuilder, unsealKeyRecord, VAULT_SERVICE_ACCOUNT } from "./types";

/** EKS, RDS, and a KMS key Vault unseals with through IRSA. */
export const buildAwsFoundation: CloudFoundationBuilder = (config, profile, tags) => {
    const region = config.region;
    const network = config.networkCidr ? parseCidr(config.networkCidr) : undefined;
    const cluster = new EksCluster("cluster", {
        region,
        // A /16 from the stack: three private /19s and three public /22s after them.
        ...(network
            ? {
                  vpcCidr: config.networkCidr,
                  privateSubnetCidrs: [0, 1, 2].map((i) => subnetOf(network, 19, i)),
                  publicSubnetCidrs: [24, 25, 26].map((i) => subnetOf(network, 22, i)),
              }
            : {}),
        tags,
        adminRoleArns: config.clusterAdmins,
        nodeMinSize: profile.nodes.min,
        nodeDesiredSize: profile.nodes.min,
        nodeMaxSize: profile.nodes.max,
        production: profile.production,
        protect: profile.protect,
    });
    const postgres = new RdsPostgresServer("postgres", {
        region,
        tags,
        vpcId: cluster.vpcId,
        subnetIds: cluster.privateSubnetIds,
        allowedSecurityGroupIds: [cluster.clusterSecurityGroupId],
        production: profile.production,
        protect: profile.protect,
    });

    const unsealKey = new Key(
        "vault-unseal-key",
        {
            description: `Vault auto-unseal, environment ${config.name}`,
            enableKeyRotation: true,
            deletionWindowInDays: 30,
            tags: cloudTags(tags, { purpose: "vault-unseal" }),
        },
        // Losing this key makes Vault's data unreadable: always protected.
        { protect: true },
    );
    const issuer = cluster.oidcIssuerUrl.apply((url) => (url ?? "").replace(/^https:\/\//, ""));
    const role = new Role("vault-unseal-role", {
        description: "Vault's service account uses the unseal key (IRSA)",
        assumeRolePolicy: pulumi.all([cluster.oidcProviderArn, issuer]).apply(([arn, host]) =>
            JSON.stringify({
                Version: "2012-10-17",
                Statement: [
                    {
                        Effect: "Allow",
                        Principal: { Federated: arn },
                        Action: "sts:AssumeRoleWithWebIdentity",
                        Condition: {
                            StringEquals: {
                                [`${host}:sub`]: `system:serviceaccount:${VAULT_SERVICE_ACCOUNT.namespace}:${VAULT_SERVICE_ACCOUNT.name}`,
                                [`${host}:aud`]: "sts.amazonaws.com",
                            },
                        },
                    },
                ],
            }),
        ),
        tags: cloudTags(tags, { purpose: "vault-unseal" }),
    });
    new RolePolicy("vault-unseal-policy", {
        role: role.id,
        policy: unsealKey.arn.apply((arn) =>
            JSON.stringify({
                Version: "2012-10-17",
                Statement: [{ Effect: "Allow", Action: ["kms:Encrypt", "kms:Decrypt", "kms:DescribeKey"], Resource: arn }],
            }),
        ),
    });

    return {
        cluster,
        postgres,
        vault: {
            kind: "ha",
            replicas: profile.vaultReplicas,
            seal: { type: "awskms", region, kmsKeyId: unsealKey.keyId },
            serviceAccountAnnotations: { "eks.amazonaws.com/role-arn": role.arn },
        },
        extraRecords: [unsealKeyRecord("aws:kms:Key")],
    };
};
