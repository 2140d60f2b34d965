import {
    EKS_AMI_TYPES,
    EKS_REGIONS,
    EKS_SUPPORTED_KUBERNETES_VERSIONS,
    EksClusterArgs,
    LOG_RETENTION_DAYS,
    MAX_NODES,
    resolveEksClusterArgs,
} from "./eks-args";
import { Cidr, cidrContains, cidrsOverlap, parseCidr } from "../shared/cidr";
import { IAM_ROLE_ARN } from "../shared/identifiers";

const CLUSTER_NAME_PATTERN = /^[0-9A-Za-z][A-Za-z0-9_-]{0,99}$/;
const ZONE_PATTERN = /^[a-z]{2}(-[a-z]+)+-\d[a-z]$/;

/**
 * Throws a message naming the setting, the bad value and what is allowed.
 * Pure: no resource is registered and no cloud API is called.
 */
export function validateEksClusterArgs(name: string, args: EksClusterArgs): void {
    const fail = (message: string): never => {
        throw new Error(`eks cluster "${name}": ${message}`);
    };
    const a = resolveEksClusterArgs(args);
    const list = (values: readonly (string | number)[]) => values.join(", ");

    if (!(EKS_REGIONS as readonly string[]).includes(a.region)) {
        fail(`region is "${a.region}"; allowed: ${list(EKS_REGIONS)}`);
    }
    if (a.clusterName !== undefined && !CLUSTER_NAME_PATTERN.test(a.clusterName)) {
        fail(`clusterName is "${a.clusterName}"; allowed: 1-100 letters, digits, '-' or '_', starting alphanumeric`);
    }
    if (!(EKS_SUPPORTED_KUBERNETES_VERSIONS as readonly string[]).includes(a.kubernetesVersion)) {
        fail(`kubernetesVersion is "${a.kubernetesVersion}"; allowed: ${list(EKS_SUPPORTED_KUBERNETES_VERSIONS)}`);
    }

    // Network: the VPC range, subnets inside it, no two subnets overlapping.
    const vpc = parseCidr(a.vpcCidr);
    if (!vpc || vpc.prefix < 16 || vpc.prefix > 28) {
        fail(`vpcCidr is "${a.vpcCidr}"; allowed: an IPv4 network address with prefix /16 to /28, e.g. 10.0.0.0/16`);
    }
    if (a.privateSubnetCidrs.length < 2) {
        fail(`privateSubnetCidrs has ${a.privateSubnetCidrs.length} subnet(s); at least 2 availability zones are required (EKS needs 2)`);
    }
    if (a.publicSubnetCidrs.length !== a.privateSubnetCidrs.length) {
        fail(
            `publicSubnetCidrs has ${a.publicSubnetCidrs.length} subnet(s); ` +
                `allowed: exactly one per private subnet (${a.privateSubnetCidrs.length})`,
        );
    }
    const subnets: { cidr: string; range: Cidr }[] = [];
    for (const [setting, cidrs] of [["privateSubnetCidrs", a.privateSubnetCidrs], ["publicSubnetCidrs", a.publicSubnetCidrs]] as const) {
        for (const cidr of cidrs) {
            const range = parseCidr(cidr);
            if (!range || range.prefix > 28) {
                fail(`${setting} contains "${cidr}"; allowed: IPv4 network addresses with prefix up to /28`);
            }
            if (vpc && range && !cidrContains(vpc, range)) {
                fail(`${setting} contains "${cidr}", which is outside vpcCidr "${a.vpcCidr}"`);
            }
            const clash = subnets.find((s) => range && cidrsOverlap(s.range, range));
            if (clash) {
                fail(`${setting} contains "${cidr}", which overlaps subnet "${clash.cidr}"`);
            }
            if (range) {
                subnets.push({ cidr, range });
            }
        }
    }
    if (a.availabilityZones !== undefined) {
        const zones = a.availabilityZones;
        if (zones.length !== a.privateSubnetCidrs.length || new Set(zones).size !== zones.length) {
            fail(
                `availabilityZones is [${zones.join(", ")}]; allowed: ${a.privateSubnetCidrs.length} distinct zones, ` +
                    `one per private subnet`,
            );
        }
        const foreign = zones.find((z) => !ZONE_PATTERN.test(z) || !z.startsWith(a.region));
        if (foreign !== undefined) {
            fail(`availabilityZones contains "${foreign}"; allowed: zones of region ${a.region}, e.g. ${a.region}a`);
        }
    }
    if (a.natGateways !== "perAz" && a.natGateways !== "single") {
        fail(`natGateways is "${String(a.natGateways)}"; allowed: perAz, single`);
    }
    if (a.production && a.natGateways === "single") {
        fail(`natGateways is "single" with production on; allowed: perAz (one zone's outage must not cut egress)`);
    }

    // API endpoint: private always; public only with an explicit allow-list.
    if (!a.endpointPublicAccess && a.publicAccessCidrs.length > 0) {
        fail(`publicAccessCidrs is set but endpointPublicAccess is false; set endpointPublicAccess: true or drop the CIDRs`);
    }
    if (a.endpointPublicAccess) {
        if (a.publicAccessCidrs.length === 0) {
            // EKS would otherwise default to 0.0.0.0/0.
            fail(`publicAccessCidrs is empty with endpointPublicAccess on; allowed: at least one CIDR (EKS would open 0.0.0.0/0)`);
        }
        const bad = a.publicAccessCidrs.find((c) => !parseCidr(c));
        if (bad !== undefined) {
            fail(`publicAccessCidrs contains "${bad}"; allowed: IPv4 network addresses, e.g. 203.0.113.0/24`);
        }
        if (a.production && a.publicAccessCidrs.some((c) => parseCidr(c)?.prefix === 0)) {
            fail(`publicAccessCidrs contains 0.0.0.0/0 with production on; allowed: specific ranges (office, VPN, CI)`);
        }
    }

    // Nodes.
    if (!(EKS_AMI_TYPES as readonly string[]).includes(a.amiType)) {
        fail(`amiType is "${a.amiType}"; allowed: ${list(EKS_AMI_TYPES)}`);
    }
    if (a.instanceTypes.length === 0) {
        fail(`instanceTypes is empty; allowed: at least one EC2 instance type, e.g. m6i.large`);
    }
    if (a.capacityType !== "ON_DEMAND" && a.capacityType !== "SPOT") {
        fail(`capacityType is "${String(a.capacityType)}"; allowed: ON_DEMAND, SPOT`);
    }
    const counts = { nodeMinSize: a.nodeMinSize, nodeDesiredSize: a.nodeDesiredSize, nodeMaxSize: a.nodeMaxSize };
    for (const [setting, value] of Object.entries(counts)) {
        const lowest = setting === "nodeMaxSize" ? 1 : 0;
        if (!Number.isInteger(value) || value < lowest || value > MAX_NODES) {
            fail(`${setting} is ${value}; allowed: a whole number from ${lowest} to ${MAX_NODES}`);
        }
    }
    if (a.nodeMinSize > a.nodeDesiredSize || a.nodeDesiredSize > a.nodeMaxSize) {
        fail(
            `node counts are min ${a.nodeMinSize}, desired ${a.nodeDesiredSize}, max ${a.nodeMaxSize}; ` +
                `allowed: nodeMinSize <= nodeDesiredSize <= nodeMaxSize`,
        );
    }
    if (a.production && a.nodeMinSize < 2) {
        fail(`nodeMinSize is ${a.nodeMinSize} with production on; allowed: 2 or more (nodes in at least two zones)`);
    }

    const badArn = a.adminRoleArns.find((arn) => !IAM_ROLE_ARN.test(arn));
    if (badArn !== undefined) {
        fail(`adminRoleArns contains "${badArn}"; allowed: IAM role ARNs, arn:aws:iam::<account>:role/<name>`);
    }
    if (!(LOG_RETENTION_DAYS as readonly number[]).includes(a.logRetentionDays)) {
        fail(`logRetentionDays is ${a.logRetentionDays}; allowed: ${list(LOG_RETENTION_DAYS)}`);
    }
}
