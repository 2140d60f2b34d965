// Only @pulumi/aws submodules: the package root loads every AWS service (seconds of cold start).
import * as cloudwatch from "@pulumi/aws/cloudwatch";
import * as eks from "@pulumi/aws/eks";
import { getAvailabilityZonesOutput } from "@pulumi/aws/getAvailabilityZones";
import * as iam from "@pulumi/aws/iam";
import * as kms from "@pulumi/aws/kms";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

import { ComponentType, RECORD_IDS, RecordSource, ResourceRecord, resourceRecord } from "../shared/records";
import { cloudTags } from "../shared/tags";
import { EksClusterArgs, resolveEksClusterArgs } from "./eks-args";
import { createEksNetwork } from "./eks-network";
import { validateEksClusterArgs } from "./eks-validate";
import { Cluster, DeliveryMode } from "./types";

export * from "./eks-args";
export { validateEksClusterArgs } from "./eks-validate";

const CLUSTER_POLICIES = ["AmazonEKSClusterPolicy", "AmazonEKSVPCResourceController"];
const NODE_POLICIES = ["AmazonEKSWorkerNodePolicy", "AmazonEKS_CNI_Policy", "AmazonEC2ContainerRegistryReadOnly"];
const CONTROL_PLANE_LOG_TYPES = ["api", "audit", "authenticator", "controllerManager", "scheduler"];
const CLUSTER_ADMIN_POLICY = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy";
const TYPE: ComponentType = "platform:cluster:EksCluster";

function assumeRolePolicy(service: string, actions: string[]): string {
    return JSON.stringify({
        Version: "2012-10-17",
        Statement: [{ Effect: "Allow", Principal: { Service: service }, Action: actions }],
    });
}

/**
 * An Amazon EKS cluster in its own VPC: private nodes behind NAT, private API
 * endpoint, Kubernetes secrets envelope-encrypted with a rotating KMS key,
 * control-plane logs, one managed AL2023 node group and an IAM OIDC provider
 * for IRSA. Implements the provider-neutral `Cluster`.
 */
export class EksCluster extends pulumi.ComponentResource implements Cluster, RecordSource {
    public readonly clusterName: pulumi.Output<string>;
    public readonly kubeconfig: pulumi.Output<string>;
    public readonly provider: k8s.Provider;
    public readonly oidcIssuerUrl: pulumi.Output<string | undefined>;
    public readonly deliveryMode: DeliveryMode = "apply";
    public readonly records: ResourceRecord[];
    /** API server endpoint (https URL). */
    public readonly endpoint: pulumi.Output<string>;
    /** ARN of the IAM OIDC provider that IRSA role trust policies name. */
    public readonly oidcProviderArn: pulumi.Output<string>;
    /** Security group EKS creates for the cluster; managed nodes use it (allow it on databases). */
    public readonly clusterSecurityGroupId: pulumi.Output<string>;
    public readonly vpcId: pulumi.Output<string>;
    public readonly privateSubnetIds: pulumi.Output<string>[];
    public readonly publicSubnetIds: pulumi.Output<string>[];
    /** The node group's IAM role ARN. */
    public readonly nodeRoleArn: pulumi.Output<string>;

    constructor(name: string, args: EksClusterArgs, opts?: pulumi.ComponentResourceOptions) {
        const clusterName = args.clusterName ?? `${name}-${pulumi.getStack()}`;
        validateEksClusterArgs(name, { ...args, clusterName });
        super(TYPE, name, {}, opts);

        const a = resolveEksClusterArgs(args);
        const region = a.region;
        const tags = (extra: Record<string, string> = {}) => cloudTags(a.tags, { ...a.extraTags, ...extra });
        const child = { parent: this };

        // Zones from the region unless pinned; the subnet count is known now, zone names may come later.
        const available = a.availabilityZones
            ? undefined
            : getAvailabilityZonesOutput(
                  { region, state: "available", filters: [{ name: "opt-in-status", values: ["opt-in-not-required"] }] },
                  child,
              ).names;
        const zones = a.privateSubnetCidrs.map((_, i) =>
            available
                ? available.apply((names) => {
                      if (names.length <= i) {
                          throw new Error(`eks cluster "${name}": region ${region} has ${names.length} zones; ${i + 1} needed`);
                      }
                      return names[i];
                  })
                : pulumi.output(a.availabilityZones?.[i] ?? ""),
        );
        const network = createEksNetwork(name, { ...a, clusterName, availabilityZones: zones, tags }, this);
        this.vpcId = network.vpc.id;
        this.privateSubnetIds = network.privateSubnets.map((s) => s.id);
        this.publicSubnetIds = network.publicSubnets.map((s) => s.id);

        // IAM: one role for the control plane, one for the nodes, AWS managed policies only.
        const clusterRole = new iam.Role(
            `${name}-cluster-role`,
            { assumeRolePolicy: assumeRolePolicy("eks.amazonaws.com", ["sts:AssumeRole", "sts:TagSession"]), tags: tags() },
            child,
        );
        const nodeRole = new iam.Role(
            `${name}-node-role`,
            { assumeRolePolicy: assumeRolePolicy("ec2.amazonaws.com", ["sts:AssumeRole"]), tags: tags() },
            child,
        );
        const attach = (role: iam.Role, roleName: string, policies: string[]) =>
            policies.map(
                (policy) =>
                    new iam.RolePolicyAttachment(
                        `${name}-${roleName}-${policy}`,
                        { role: role.name, policyArn: `arn:aws:iam::aws:policy/${policy}` },
                        child,
                    ),
            );
        const clusterAttachments = attach(clusterRole, "cluster", CLUSTER_POLICIES);
        const nodeAttachments = attach(nodeRole, "node", NODE_POLICIES);
        this.nodeRoleArn = nodeRole.arn;

        // Envelope encryption of Kubernetes secrets; yearly automatic rotation.
        const secretsKey = new kms.Key(
            `${name}-secrets`,
            {
                region,
                description: `EKS ${clusterName}: envelope encryption of Kubernetes secrets`,
                enableKeyRotation: true,
                deletionWindowInDays: 30,
                tags: tags(),
            },
            { parent: this, protect: a.protect },
        );
        // The control plane calls KMS as the cluster role (as terraform-aws-eks grants it).
        const keyAccess = new iam.RolePolicy(
            `${name}-cluster-kms`,
            {
                role: clusterRole.id,
                policy: secretsKey.arn.apply((keyArn) =>
                    JSON.stringify({
                        Version: "2012-10-17",
                        Statement: [
                            {
                                Effect: "Allow",
                                Action: ["kms:Encrypt", "kms:Decrypt", "kms:ListGrants", "kms:DescribeKey"],
                                Resource: keyArn,
                            },
                        ],
                    }),
                ),
            },
            child,
        );

        // Created before the cluster so EKS does not make one that keeps logs forever.
        const logGroup = new cloudwatch.LogGroup(
            `${name}-logs`,
            { region, name: `/aws/eks/${clusterName}/cluster`, retentionInDays: a.logRetentionDays, tags: tags() },
            child,
        );

        const cluster = new eks.Cluster(
            `${name}-cluster`,
            {
                region,
                name: clusterName,
                version: a.kubernetesVersion,
                roleArn: clusterRole.arn,
                vpcConfig: {
                    subnetIds: this.privateSubnetIds,
                    endpointPrivateAccess: true,
                    endpointPublicAccess: a.endpointPublicAccess,
                    publicAccessCidrs: a.endpointPublicAccess ? a.publicAccessCidrs : undefined,
                },
                // Access entries only (no aws-auth ConfigMap); the deploying identity is admin so the provider works.
                accessConfig: { authenticationMode: "API", bootstrapClusterCreatorAdminPermissions: true },
                encryptionConfig: { provider: { keyArn: secretsKey.arn }, resources: ["secrets"] },
                enabledClusterLogTypes: CONTROL_PLANE_LOG_TYPES,
                deletionProtection: a.protect,
                tags: tags(),
            },
            { parent: this, protect: a.protect, dependsOn: [...clusterAttachments, keyAccess, logGroup] },
        );
        this.clusterName = cluster.name;
        this.endpoint = cluster.endpoint;
        this.clusterSecurityGroupId = cluster.vpcConfig.apply((v) => v.clusterSecurityGroupId);

        const nodeGroup = new eks.NodeGroup(
            `${name}-nodes`,
            {
                region,
                clusterName: cluster.name,
                version: cluster.version,
                nodeRoleArn: nodeRole.arn,
                subnetIds: this.privateSubnetIds,
                amiType: a.amiType,
                capacityType: a.capacityType,
                instanceTypes: a.instanceTypes,
                scalingConfig: { minSize: a.nodeMinSize, desiredSize: a.nodeDesiredSize, maxSize: a.nodeMaxSize },
                // Roll a third of the nodes at a time during AMI or version updates.
                updateConfig: { maxUnavailablePercentage: 33 },
                tags: tags(),
            },
            // Without the policies the nodes cannot join, and deleting them first strands the group.
            { parent: this, dependsOn: nodeAttachments },
        );

        const admins = a.adminRoleArns.map((principalArn, i) => {
            const entry = new eks.AccessEntry(
                `${name}-admin-${i}`,
                { region, clusterName: cluster.name, principalArn, type: "STANDARD", tags: tags() },
                child,
            );
            return new eks.AccessPolicyAssociation(
                `${name}-admin-${i}`,
                { region, clusterName: cluster.name, principalArn, policyArn: CLUSTER_ADMIN_POLICY, accessScope: { type: "cluster" } },
                { parent: this, dependsOn: [entry] },
            );
        });

        this.oidcIssuerUrl = cluster.identities.apply((ids) => ids?.[0]?.oidcs?.[0]?.issuer);
        // No thumbprintLists: IAM verifies EKS issuers against its own trusted CAs, and
        // computes a thumbprint itself when none is given (aws.iam.OpenIdConnectProvider docs).
        const oidc = new iam.OpenIdConnectProvider(
            `${name}-oidc`,
            {
                url: this.oidcIssuerUrl.apply((url) => url ?? ""),
                clientIdLists: ["sts.amazonaws.com"],
                tags: tags(),
            },
            child,
        );
        this.oidcProviderArn = oidc.arn;

        // Short-lived tokens from `aws eks get-token` at each use; nothing long-lived is stored.
        this.kubeconfig = pulumi.secret(
            pulumi
                .all([cluster.name, cluster.endpoint, cluster.certificateAuthority])
                .apply(([clusterId, server, ca]) => eksKubeconfig(clusterId, server, ca.data, region)),
        );
        this.provider = new k8s.Provider(
            `${name}-provider`,
            { kubeconfig: this.kubeconfig, enableServerSideApply: true },
            // Workloads need nodes to schedule on and admins to be able to look at them.
            { parent: this, dependsOn: [nodeGroup, ...admins] },
        );

        this.records = [
            resourceRecord(TYPE, {
                id: RECORD_IDS.cluster,
                count: a.nodeDesiredSize,
                status: "deployed",
                entrypoints: [],
                statusEndpoints: [cluster.endpoint],
                dependsOn: [],
            }),
        ];

        this.registerOutputs({
            clusterName: this.clusterName,
            kubeconfig: this.kubeconfig,
            oidcIssuerUrl: this.oidcIssuerUrl,
            oidcProviderArn: this.oidcProviderArn,
            endpoint: this.endpoint,
            vpcId: this.vpcId,
            deliveryMode: this.deliveryMode,
        });
    }
}

/** Kubeconfig (JSON, which is YAML) that authenticates through the AWS CLI exec plugin. */
export function eksKubeconfig(clusterName: string, server: string, caData: string, region: string): string {
    return JSON.stringify({
        apiVersion: "v1",
        kind: "Config",
        clusters: [{ name: clusterName, cluster: { server, "certificate-authority-data": caData } }],
        contexts: [{ name: clusterName, context: { cluster: clusterName, user: clusterName } }],
        "current-context": clusterName,
        users: [
            {
                name: clusterName,
                user: {
                    exec: {
                        apiVersion: "client.authentication.k8s.io/v1beta1",
                        command: "aws",
                        args: ["eks", "get-token", "--cluster-name", clusterName, "--region", region, "--output", "json"],
                        interactiveMode: "Never",
                    },
                },
            },
        ],
    });
}
