import * as ec2 from "@pulumi/aws/ec2";
import * as pulumi from "@pulumi/pulumi";

export interface EksNetworkArgs {
    region: string;
    /** EKS cluster name, for the `kubernetes.io/cluster/<name>` subnet tag. */
    clusterName: string;
    vpcCidr: string;
    privateSubnetCidrs: string[];
    publicSubnetCidrs: string[];
    /** One zone per subnet pair (resolved by the caller; may come from an invoke). */
    availabilityZones: pulumi.Input<string>[];
    natGateways: "perAz" | "single";
    protect: boolean;
    /** Tags for a child: the standard tags merged over `extra`. */
    tags: (extra?: Record<string, string>) => Record<string, string>;
}

export interface EksNetwork {
    vpc: ec2.Vpc;
    privateSubnets: ec2.Subnet[];
    publicSubnets: ec2.Subnet[];
    natGateways: ec2.NatGateway[];
}

/**
 * VPC for an EKS cluster: private subnets for nodes and the control plane's
 * ENIs, public subnets only for NAT gateways and internet-facing load
 * balancers. Children are named `${name}-<role>` under `parent`.
 */
export function createEksNetwork(name: string, args: EksNetworkArgs, parent: pulumi.Resource): EksNetwork {
    const opts = { parent };
    const region = args.region;
    const named = (role: string, extra: Record<string, string> = {}) => args.tags({ Name: `${name}-${role}`, ...extra });
    // Lets the AWS Load Balancer Controller discover this cluster's subnets.
    const clusterTag = { [`kubernetes.io/cluster/${args.clusterName}`]: "owned" };

    const vpc = new ec2.Vpc(
        `${name}-vpc`,
        {
            region,
            cidrBlock: args.vpcCidr,
            // Both are needed for the private API endpoint and IRSA/VPC endpoints to resolve.
            enableDnsSupport: true,
            enableDnsHostnames: true,
            tags: named("vpc"),
        },
        { parent, protect: args.protect },
    );
    const igw = new ec2.InternetGateway(`${name}-igw`, { region, vpcId: vpc.id, tags: named("igw") }, opts);

    const publicRoutes = new ec2.RouteTable(
        `${name}-public`,
        { region, vpcId: vpc.id, routes: [{ cidrBlock: "0.0.0.0/0", gatewayId: igw.id }], tags: named("public") },
        opts,
    );
    const publicSubnets = args.publicSubnetCidrs.map((cidr, i) => {
        const subnet = new ec2.Subnet(
            `${name}-public-${i}`,
            {
                region,
                vpcId: vpc.id,
                cidrBlock: cidr,
                availabilityZone: args.availabilityZones[i],
                // Nothing but NAT gateways and load balancers lives here; no instance gets a public IP.
                mapPublicIpOnLaunch: false,
                tags: named(`public-${i}`, { ...clusterTag, "kubernetes.io/role/elb": "1" }),
            },
            opts,
        );
        new ec2.RouteTableAssociation(
            `${name}-public-${i}`,
            { region, subnetId: subnet.id, routeTableId: publicRoutes.id },
            opts,
        );
        return subnet;
    });

    const natCount = args.natGateways === "perAz" ? publicSubnets.length : 1;
    const natGateways = publicSubnets.slice(0, natCount).map((subnet, i) => {
        const eip = new ec2.Eip(`${name}-nat-${i}`, { region, domain: "vpc", tags: named(`nat-${i}`) }, opts);
        return new ec2.NatGateway(
            `${name}-nat-${i}`,
            { region, subnetId: subnet.id, allocationId: eip.allocationId, connectivityType: "public", tags: named(`nat-${i}`) },
            // A NAT gateway cannot route out before the VPC has its internet gateway.
            { parent, dependsOn: [igw] },
        );
    });

    const privateSubnets = args.privateSubnetCidrs.map((cidr, i) => {
        const subnet = new ec2.Subnet(
            `${name}-private-${i}`,
            {
                region,
                vpcId: vpc.id,
                cidrBlock: cidr,
                availabilityZone: args.availabilityZones[i],
                tags: named(`private-${i}`, { ...clusterTag, "kubernetes.io/role/internal-elb": "1" }),
            },
            opts,
        );
        // Each zone egresses through its own NAT gateway (or the single one).
        const nat = natGateways[Math.min(i, natGateways.length - 1)];
        const routes = new ec2.RouteTable(
            `${name}-private-${i}`,
            { region, vpcId: vpc.id, routes: [{ cidrBlock: "0.0.0.0/0", natGatewayId: nat.id }], tags: named(`private-${i}`) },
            opts,
        );
        new ec2.RouteTableAssociation(`${name}-private-${i}`, { region, subnetId: subnet.id, routeTableId: routes.id }, opts);
        return subnet;
    });

    return { vpc, privateSubnets, publicSubnets, natGateways };
}
