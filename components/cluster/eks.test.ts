import * as pulumi from "@pulumi/pulumi";
import { beforeAll, beforeEach, describe, expect, it } from "vitest";

import { expectDistinctInstances, expectRefusedBeforeRegistering, K8S, settled, setupComponent, TEST_CLOUD_TAGS, TEST_TAGS as tags } from "../../test/helpers/component";
import { isSecret, MockSession, settle, valueOf } from "../../test/helpers/mocks";
import { takesTags } from "../../test/helpers/taggable";

const ZONES = ["eu-central-1a", "eu-central-1b", "eu-central-1c"];
const T = {
    vpc: "aws:ec2/vpc:Vpc",
    subnet: "aws:ec2/subnet:Subnet",
    routeTable: "aws:ec2/routeTable:RouteTable",
    nat: "aws:ec2/natGateway:NatGateway",
    eip: "aws:ec2/eip:Eip",
    role: "aws:iam/role:Role",
    attachment: "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
    key: "aws:kms/key:Key",
    cluster: "aws:eks/cluster:Cluster",
    nodeGroup: "aws:eks/nodeGroup:NodeGroup",
    oidc: "aws:iam/openIdConnectProvider:OpenIdConnectProvider",
};
const issuer = (name: string) => `https://oidc.eks.eu-central-1.amazonaws.com/id/${name.toUpperCase()}`;

let session: MockSession;
let mod: typeof import("./eks");

beforeAll(async () => {
    ({ session, mod } = await setupComponent(() => import("./eks"), {
        calls: {
            "aws:index/getAvailabilityZones:getAvailabilityZones": () => ({ names: ZONES, zoneIds: ["euc1-az2", "euc1-az3", "euc1-az1"] }),
        },
        state: {
            [T.role]: (_, name) => ({ name, arn: `arn:aws:iam::111122223333:role/${name}` }),
            [T.key]: (_, name) => ({ arn: `arn:aws:kms:eu-central-1:111122223333:key/${name}` }),
            [T.cluster]: (inputs, name) => ({
                endpoint: `https://${name}.gr7.eu-central-1.eks.amazonaws.com`,
                certificateAuthority: { data: "LS0tLS1CRUdJTi1DQQ==" },
                identities: [{ oidcs: [{ issuer: issuer(name) }] }],
                vpcConfig: { ...(inputs.vpcConfig as object), clusterSecurityGroupId: `sg-${name}` },
            }),
            [T.oidc]: (_, name) => ({ arn: `arn:aws:iam::111122223333:oidc-provider/${name}` }),
        },
    }));
});
beforeEach(() => session.reset());

const region = "eu-central-1";
type Args = import("./eks").EksClusterArgs;
const base: Args = { region, tags };
const build = (name: string, args: Args = base) => settled(session, () => new mod.EksCluster(name, args));

describe("validateEksClusterArgs", () => {
    const cases: [string, Partial<Args>, RegExp][] = [
        ["region outside the allowed list", { region: "ap-east-1" }, /region is "ap-east-1"; allowed: eu-central-1, .*us-west-2/],
        ["bad cluster name", { clusterName: "my.cluster" }, /clusterName is "my\.cluster"; allowed: 1-100 letters/],
        ["unsupported Kubernetes version", { kubernetesVersion: "1.29" }, /kubernetesVersion is "1\.29"; allowed: 1\.34, 1\.35, 1\.36/],
        ["malformed VPC CIDR", { vpcCidr: "10.0.0/16" }, /vpcCidr is "10\.0\.0\/16"; allowed: an IPv4 network address with prefix \/16 to \/28/],
        ["VPC CIDR with host bits", { vpcCidr: "10.0.0.1/16" }, /vpcCidr is "10\.0\.0\.1\/16"/],
        ["VPC larger than /16", { vpcCidr: "10.0.0.0/8" }, /vpcCidr is "10\.0\.0\.0\/8"/],
        ["one zone only", { privateSubnetCidrs: ["10.0.0.0/19"], publicSubnetCidrs: ["10.0.96.0/22"] }, /privateSubnetCidrs has 1 subnet\(s\); at least 2 availability zones/],
        ["public/private count mismatch", { publicSubnetCidrs: ["10.0.96.0/22"] }, /publicSubnetCidrs has 1 subnet\(s\); allowed: exactly one per private subnet \(3\)/],
        ["malformed subnet", { privateSubnetCidrs: ["10.0.0.0/19", "10.0.32.0/33", "10.0.64.0/19"] }, /privateSubnetCidrs contains "10\.0\.32\.0\/33"; allowed: IPv4 network addresses/],
        ["subnet outside the VPC", { privateSubnetCidrs: ["10.0.0.0/19", "10.1.0.0/19", "10.0.64.0/19"] }, /privateSubnetCidrs contains "10\.1\.0\.0\/19", which is outside vpcCidr "10\.0\.0\.0\/16"/],
        ["overlapping subnets", { publicSubnetCidrs: ["10.0.96.0/22", "10.0.64.0/22", "10.0.104.0/22"] }, /publicSubnetCidrs contains "10\.0\.64\.0\/22", which overlaps subnet "10\.0\.64\.0\/19"/],
        ["zone count differs from subnets", { availabilityZones: ["eu-central-1a", "eu-central-1b"] }, /availabilityZones is \[eu-central-1a, eu-central-1b\]; allowed: 3 distinct zones/],
        ["zone of another region", { availabilityZones: ["eu-central-1a", "eu-central-1b", "eu-west-1c"] }, /availabilityZones contains "eu-west-1c"; allowed: zones of region eu-central-1/],
        ["unknown NAT mode", { natGateways: "none" as "single" }, /natGateways is "none"; allowed: perAz, single/],
        ["single NAT in production", { natGateways: "single", production: true }, /natGateways is "single" with production on; allowed: perAz/],
        ["CIDRs without a public endpoint", { publicAccessCidrs: ["203.0.113.0/24"] }, /publicAccessCidrs is set but endpointPublicAccess is false/],
        ["public endpoint without CIDRs", { endpointPublicAccess: true }, /publicAccessCidrs is empty with endpointPublicAccess on; .*0\.0\.0\.0\/0/],
        ["malformed public CIDR", { endpointPublicAccess: true, publicAccessCidrs: ["office"] }, /publicAccessCidrs contains "office"; allowed: IPv4 network addresses/],
        ["0.0.0.0/0 in production", { endpointPublicAccess: true, publicAccessCidrs: ["0.0.0.0/0"], production: true }, /publicAccessCidrs contains 0\.0\.0\.0\/0 with production on/],
        ["AL2 AMI", { amiType: "AL2_x86_64" as "AL2023_x86_64_STANDARD" }, /amiType is "AL2_x86_64"; allowed: AL2023_x86_64_STANDARD, AL2023_ARM_64_STANDARD/],
        ["no instance types", { instanceTypes: [] }, /instanceTypes is empty/],
        ["unknown capacity type", { capacityType: "RESERVED" as "SPOT" }, /capacityType is "RESERVED"; allowed: ON_DEMAND, SPOT/],
        ["max nodes out of range", { nodeMaxSize: 500 }, /nodeMaxSize is 500; allowed: a whole number from 1 to 100/],
        ["negative min nodes", { nodeMinSize: -1 }, /nodeMinSize is -1; allowed: a whole number from 0 to 100/],
        ["fractional desired nodes", { nodeDesiredSize: 2.5 }, /nodeDesiredSize is 2\.5/],
        ["min above desired", { nodeMinSize: 3, nodeDesiredSize: 2 }, /node counts are min 3, desired 2, max 4; allowed: nodeMinSize <= nodeDesiredSize <= nodeMaxSize/],
        ["desired above max", { nodeDesiredSize: 5, nodeMaxSize: 4 }, /node counts are min 2, desired 5, max 4/],
        ["one node in production", { nodeMinSize: 1, production: true }, /nodeMinSize is 1 with production on; allowed: 2 or more/],
        ["admin that is not a role ARN", { adminRoleArns: ["arn:aws:iam::111122223333:user/alice"] }, /adminRoleArns contains "arn:aws:iam::111122223333:user\/alice"; allowed: IAM role ARNs/],
        ["log retention CloudWatch refuses", { logRetentionDays: 45 }, /logRetentionDays is 45; allowed: 1, 3, 5/],
    ];
    it.each(cases)("rejects %s, naming the setting", (_, override, message) => {
        expect(() => mod.validateEksClusterArgs("c", { ...base, ...override })).toThrow(message);
        expect(() => mod.validateEksClusterArgs("c", { ...base, ...override })).toThrow(/^eks cluster "c": /);
    });

    it("accepts the defaults, and a restricted public endpoint outside production", () => {
        expect(() => mod.validateEksClusterArgs("c", base)).not.toThrow();
        expect(() =>
            mod.validateEksClusterArgs("c", { ...base, endpointPublicAccess: true, publicAccessCidrs: ["0.0.0.0/0"] }),
        ).not.toThrow();
        expect(() => mod.validateEksClusterArgs("c", { ...base, production: true })).not.toThrow();
    });

    it("validates before registering anything", async () => {
        await expectRefusedBeforeRegistering(session, () => new mod.EksCluster("bad", { ...base, kubernetesVersion: "1.20" }), /kubernetesVersion/);
    });
});

describe("EksCluster", () => {
    it("puts the five required tags on every taggable AWS resource, and extras cannot override them", async () => {
        await build("tagged", { ...base, adminRoleArns: ["arn:aws:iam::111122223333:role/ops"], extraTags: { owner: "intruder", team: "payments" } });
        const aws = session.resources.filter((r) => r.type.startsWith("aws:"));
        const taggable = aws.filter((r) => takesTags(r.type));
        expect(new Set(taggable.map((r) => r.type))).toEqual(
            new Set([T.vpc, T.subnet, "aws:ec2/internetGateway:InternetGateway", T.routeTable, T.eip, T.nat, T.role, T.key,
                "aws:cloudwatch/logGroup:LogGroup", T.cluster, T.nodeGroup, "aws:eks/accessEntry:AccessEntry", T.oidc]),
        );
        for (const r of taggable) {
            expect(r.inputs.tags, `${r.type} ${r.name}`).toMatchObject({ ...TEST_CLOUD_TAGS, team: "payments" });
        }
        // The typings check is what makes the loop above cover every type: it must tell both kinds apart.
        expect(takesTags(T.attachment)).toBe(false);
        expect(aws.length).toBeGreaterThan(taggable.length);
    });

    it("builds private and public subnets across the region's zones, one NAT gateway per zone", async () => {
        await build("net");
        const vpc = session.get(T.vpc, "net-vpc");
        expect(vpc.inputs).toMatchObject({ cidrBlock: "10.0.0.0/16", enableDnsSupport: true, enableDnsHostnames: true, region });
        const priv = [0, 1, 2].map((i) => session.get(T.subnet, `net-private-${i}`));
        const pub = [0, 1, 2].map((i) => session.get(T.subnet, `net-public-${i}`));
        expect(priv.map((s) => s.inputs.availabilityZone)).toEqual(ZONES);
        expect(pub.map((s) => s.inputs.availabilityZone)).toEqual(ZONES);
        expect(priv[0].inputs.tags).toMatchObject({ "kubernetes.io/role/internal-elb": "1", "kubernetes.io/cluster/net-test": "owned" });
        expect(pub[0].inputs.tags).toMatchObject({ "kubernetes.io/role/elb": "1" });
        expect(pub[0].inputs.mapPublicIpOnLaunch).toBe(false);
        expect(session.ofType(T.nat).map((n) => n.inputs.subnetId)).toEqual(["net-public-0-id", "net-public-1-id", "net-public-2-id"]);
        expect(session.ofType(T.eip)).toHaveLength(3);
        expect(session.get(T.routeTable, "net-private-2").inputs.routes).toEqual([{ cidrBlock: "0.0.0.0/0", natGatewayId: "net-nat-2-id" }]);
        expect(session.get(T.routeTable, "net-public").inputs.routes).toEqual([{ cidrBlock: "0.0.0.0/0", gatewayId: "net-igw-id" }]);
    });

    it("routes every zone through one NAT gateway when asked to", async () => {
        await build("cheap", { ...base, natGateways: "single", availabilityZones: ["eu-central-1b", "eu-central-1c"], privateSubnetCidrs: ["10.0.0.0/19", "10.0.32.0/19"], publicSubnetCidrs: ["10.0.96.0/22", "10.0.100.0/22"] });
        expect(session.ofType(T.nat)).toHaveLength(1);
        expect(session.get(T.routeTable, "cheap-private-1").inputs.routes).toEqual([{ cidrBlock: "0.0.0.0/0", natGatewayId: "cheap-nat-0-id" }]);
        expect(session.get(T.subnet, "cheap-private-1").inputs.availabilityZone).toBe("eu-central-1c");
    });

    it("encrypts secrets with a rotating KMS key, keeps the endpoint private and logs the control plane", async () => {
        await build("sec");
        const key = session.get(T.key, "sec-secrets");
        expect(key.inputs).toMatchObject({ enableKeyRotation: true, region });
        const cluster = session.get(T.cluster, "sec-cluster").inputs;
        expect(cluster.encryptionConfig).toEqual({
            provider: { keyArn: "arn:aws:kms:eu-central-1:111122223333:key/sec-secrets" },
            resources: ["secrets"],
        });
        expect(cluster.vpcConfig).toEqual({
            subnetIds: ["sec-private-0-id", "sec-private-1-id", "sec-private-2-id"],
            endpointPrivateAccess: true,
            endpointPublicAccess: false,
        });
        expect(cluster).toMatchObject({
            name: "sec-test",
            version: mod.EKS_KUBERNETES_VERSION,
            accessConfig: { authenticationMode: "API" },
            enabledClusterLogTypes: expect.arrayContaining(["api", "audit", "authenticator"]),
            roleArn: "arn:aws:iam::111122223333:role/sec-cluster-role",
        });
        expect(session.get("aws:cloudwatch/logGroup:LogGroup", "sec-logs").inputs).toMatchObject({ name: "/aws/eks/sec-test/cluster", retentionInDays: 90 });
        const kmsPolicy = JSON.parse(String(session.get("aws:iam/rolePolicy:RolePolicy", "sec-cluster-kms").inputs.policy));
        expect(kmsPolicy.Statement[0].Resource).toBe("arn:aws:kms:eu-central-1:111122223333:key/sec-secrets");
    });

    it("opens the public endpoint only to the given CIDRs", async () => {
        await build("pub", { ...base, endpointPublicAccess: true, publicAccessCidrs: ["203.0.113.0/24"] });
        expect(session.get(T.cluster, "pub-cluster").inputs.vpcConfig).toMatchObject({
            endpointPrivateAccess: true,
            endpointPublicAccess: true,
            publicAccessCidrs: ["203.0.113.0/24"],
        });
    });

    it("attaches the AWS managed policies and runs an AL2023 node group with the requested scaling", async () => {
        await build("ng", { ...base, nodeMinSize: 3, nodeDesiredSize: 4, nodeMaxSize: 6, instanceTypes: ["m7i.xlarge"] });
        const policies = session.ofType(T.attachment).map((r) => `${String(r.inputs.role)} ${String(r.inputs.policyArn)}`);
        expect(policies).toEqual(expect.arrayContaining([
            "ng-cluster-role arn:aws:iam::aws:policy/AmazonEKSClusterPolicy",
            "ng-node-role arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy",
            "ng-node-role arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy",
            "ng-node-role arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly",
        ]));
        const trust = JSON.parse(String(session.get(T.role, "ng-node-role").inputs.assumeRolePolicy));
        expect(trust.Statement[0].Principal).toEqual({ Service: "ec2.amazonaws.com" });
        const nodes = session.get(T.nodeGroup, "ng-nodes").inputs;
        expect(nodes).toMatchObject({
            clusterName: "ng-test",
            amiType: "AL2023_x86_64_STANDARD",
            instanceTypes: ["m7i.xlarge"],
            scalingConfig: { minSize: 3, desiredSize: 4, maxSize: 6 },
            subnetIds: ["ng-private-0-id", "ng-private-1-id", "ng-private-2-id"],
            nodeRoleArn: "arn:aws:iam::111122223333:role/ng-node-role",
            updateConfig: { maxUnavailablePercentage: 33 },
        });
    });

    it("registers the cluster's issuer as an IAM OIDC provider for IRSA", async () => {
        const c = await build("irsa");
        const oidc = session.get(T.oidc, "irsa-oidc").inputs;
        expect(oidc.url).toBe(issuer("irsa-cluster"));
        expect(oidc.clientIdLists).toEqual(["sts.amazonaws.com"]);
        expect(await valueOf(c.oidcIssuerUrl)).toBe(issuer("irsa-cluster"));
        expect(await valueOf(c.oidcProviderArn)).toBe("arn:aws:iam::111122223333:oidc-provider/irsa-oidc");
    });

    it("builds a secret kubeconfig with the aws exec plugin, used by a server-side-apply provider", async () => {
        const c = await build("kc");
        expect(await isSecret(c.kubeconfig)).toBe(true);
        const kubeconfig = JSON.parse(await valueOf(c.kubeconfig));
        expect(kubeconfig.clusters[0].cluster).toEqual({
            server: "https://kc-cluster.gr7.eu-central-1.eks.amazonaws.com",
            "certificate-authority-data": "LS0tLS1CRUdJTi1DQQ==",
        });
        expect(kubeconfig.users[0].user.exec).toMatchObject({
            command: "aws",
            args: ["eks", "get-token", "--cluster-name", "kc-test", "--region", region, "--output", "json"],
        });
        const provider = session.get(K8S.provider, "kc-provider");
        expect(provider.inputs.enableServerSideApply).toBe("true");
        // Reaches the provider still marked secret (the wire form of a secret value).
        expect(provider.inputs.kubeconfig).toEqual({
            [pulumi.runtime.specialSigKey]: pulumi.runtime.specialSecretSig,
            value: await valueOf(c.kubeconfig),
        });
        expect(c.deliveryMode).toBe("apply");
        expect(c.records[0]).toMatchObject({ id: "cluster", template: "platform:cluster:EksCluster", count: 2, status: "deployed" });
        expect(await valueOf(c.records[0].statusEndpoints[0] as pulumi.Output<string>)).toBe(kubeconfig.clusters[0].cluster.server);
    });

    it("protects the cluster, its KMS key and the VPC when asked, and not by default", async () => {
        new mod.EksCluster("keep", { ...base, protect: true });
        new mod.EksCluster("temp", base);
        await settle(session);
        for (const [type, name] of [[T.cluster, "keep-cluster"], [T.key, "keep-secrets"], [T.vpc, "keep-vpc"]]) {
            expect(session.get(type, name).protect, `${type} ${name}`).toBe(true);
        }
        expect(session.get(T.cluster, "temp-cluster").protect).toBe(false);
        expect(session.get(T.cluster, "keep-cluster").inputs.deletionProtection).toBe(true);
        expect(session.get(T.cluster, "temp-cluster").inputs.deletionProtection).toBe(false);
    });

    it("names children after the instance, so two instances do not collide", async () => {
        new mod.EksCluster("a", base);
        new mod.EksCluster("b", { ...base, vpcCidr: "10.1.0.0/16", privateSubnetCidrs: ["10.1.0.0/19", "10.1.32.0/19"], publicSubnetCidrs: ["10.1.96.0/22", "10.1.100.0/22"] });
        await settle(session);
        expectDistinctInstances(session, ["a", "b"], "custom");
        expect(session.ofType(T.cluster).map((r) => r.inputs.name).sort()).toEqual(["a-test", "b-test"]);
    });
});
