import { StandardTags } from "../shared/tags";

/** Kubernetes version new EKS clusters get; bump deliberately (control plane first, then nodes). */
export const EKS_KUBERNETES_VERSION = "1.35";

/**
 * Versions in EKS standard support that the platform has tested. Versions past
 * standard support cost extra per cluster hour (extended support), so they
 * leave this list: 1.34 leaves after 2026-12-02.
 */
export const EKS_SUPPORTED_KUBERNETES_VERSIONS = ["1.34", "1.35", "1.36"] as const;

/**
 * Regions the platform runs EKS in (data residency and quota agreements).
 * All in the `aws` partition: the managed-policy ARNs in eks.ts assume it.
 */
export const EKS_REGIONS = ["eu-central-1", "eu-west-1", "eu-north-1", "us-east-1", "us-east-2", "us-west-2"] as const;

/** Managed node group AMI types allowed: Amazon Linux 2023 only (AL2 is end of life). */
export const EKS_AMI_TYPES = ["AL2023_x86_64_STANDARD", "AL2023_ARM_64_STANDARD"] as const;

/** Values CloudWatch Logs accepts for `retentionInDays`. */
export const LOG_RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653] as const;

/** Upper bound for node counts of the one managed node group (a platform guard against typos, below the EKS quota). */
export const MAX_NODES = 100;

export interface EksClusterArgs {
    /** AWS region of every regional resource. Required; one of `EKS_REGIONS`. */
    region: string;
    /** Name of the EKS cluster in AWS (also names its log group). Default: `<component name>-<stack>`. */
    clusterName?: string;
    /** Kubernetes minor version of control plane and nodes. Default: `EKS_KUBERNETES_VERSION`. */
    kubernetesVersion?: string;
    /** IPv4 range of the VPC, prefix /16 to /28. Default: `10.0.0.0/16`. */
    vpcCidr?: string;
    /** Private subnets (nodes, control-plane ENIs, internal load balancers), one per availability zone, at least 2. Default: three /19s at the start of the default VPC range. */
    privateSubnetCidrs?: string[];
    /** Public subnets (NAT gateways, internet-facing load balancers), one per private subnet, same zones. Default: three /22s after the private ones. */
    publicSubnetCidrs?: string[];
    /** Availability zones, one per subnet pair, in the region. Default: the region's first available zones that need no opt-in. */
    availabilityZones?: string[];
    /** `perAz`: a NAT gateway in every zone (a zone outage does not cut egress); `single`: one, cheaper. Default: `perAz`. */
    natGateways?: "perAz" | "single";
    /** Expose the API server endpoint on the internet (the private endpoint is always on). Default: false. */
    endpointPublicAccess?: boolean;
    /** CIDRs allowed to reach the public endpoint; required when it is on. Default: none. */
    publicAccessCidrs?: string[];
    /** Managed node group AMI type. Default: `AL2023_x86_64_STANDARD`. */
    amiType?: (typeof EKS_AMI_TYPES)[number];
    /** EC2 instance types of the node group (must match the AMI architecture). Default: `["m6i.large"]`. */
    instanceTypes?: string[];
    /** `ON_DEMAND` or `SPOT` capacity for the node group. Default: `ON_DEMAND`. */
    capacityType?: "ON_DEMAND" | "SPOT";
    /** Minimum nodes, 0 to `MAX_NODES` (at least 2 when `production`). Default: 2. */
    nodeMinSize?: number;
    /** Nodes at creation, between min and max. Default: 2. */
    nodeDesiredSize?: number;
    /** Maximum nodes, 1 to `MAX_NODES`. Default: 4. */
    nodeMaxSize?: number;
    /** IAM role ARNs given cluster-admin through EKS access entries (the deploying identity always is one). Default: none. */
    adminRoleArns?: string[];
    /** Days the control-plane logs are kept (a CloudWatch-allowed value). Default: 90. */
    logRetentionDays?: number;
    /** Production rules: per-zone NAT, at least 2 nodes, no public endpoint open to 0.0.0.0/0. Default: false. */
    production?: boolean;
    /** Pulumi `protect` (and EKS deletion protection) on the cluster, its KMS key and the VPC. Default: false. */
    protect?: boolean;
    /** The environment's standard tags, on every taggable child. Required. */
    tags: StandardTags;
    /** Extra tags on every taggable child; the standard tags win on conflict. Default: none. */
    extraTags?: Record<string, string>;
}

/** Args with every default filled in (what the component and the validation use). */
export type ResolvedEksClusterArgs = Required<Omit<EksClusterArgs, "availabilityZones" | "clusterName">> &
    Pick<EksClusterArgs, "availabilityZones" | "clusterName">;

export const eksClusterDefaults = {
    kubernetesVersion: EKS_KUBERNETES_VERSION,
    vpcCidr: "10.0.0.0/16",
    privateSubnetCidrs: ["10.0.0.0/19", "10.0.32.0/19", "10.0.64.0/19"],
    publicSubnetCidrs: ["10.0.96.0/22", "10.0.100.0/22", "10.0.104.0/22"],
    natGateways: "perAz",
    endpointPublicAccess: false,
    publicAccessCidrs: [],
    amiType: "AL2023_x86_64_STANDARD",
    instanceTypes: ["m6i.large"],
    capacityType: "ON_DEMAND",
    nodeMinSize: 2,
    nodeDesiredSize: 2,
    nodeMaxSize: 4,
    adminRoleArns: [],
    logRetentionDays: 90,
    production: false,
    protect: false,
    extraTags: {},
} satisfies Omit<ResolvedEksClusterArgs, "region" | "tags" | "clusterName" | "availabilityZones">;

/** Defaults under the args; an explicit `undefined` keeps the default. */
export function resolveEksClusterArgs(args: EksClusterArgs): ResolvedEksClusterArgs {
    const given = Object.fromEntries(Object.entries(args).filter(([, v]) => v !== undefined)) as Partial<EksClusterArgs>;
    return { ...eksClusterDefaults, ...given, region: args.region, tags: args.tags };
}
