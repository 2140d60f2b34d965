import * as pulumi from "@pulumi/pulumi";
import { beforeAll, beforeEach, describe, expect, it } from "vitest";

import { expectDistinctInstances, expectRefusedBeforeRegistering, K8S, settled, setupComponent, TEST_CLOUD_TAGS, TEST_TAGS as tags } from "../../test/helpers/component";
import { isSecret, MockSession, settle, valueOf } from "../../test/helpers/mocks";
import { takesTags } from "../../test/helpers/taggable";

const ADMINS = ["0b1f0c5e-7d4a-4c55-9a43-8f7c6d2e1a10"];
const T = {
    rg: "azure-native:resources:ResourceGroup",
    vnet: "azure-native:network:VirtualNetwork",
    subnet: "azure-native:network:Subnet",
    role: "azure-native:authorization:RoleAssignment",
    cluster: "azure-native:containerservice:ManagedCluster",
    pool: "azure-native:containerservice:AgentPool",
};
const CREDENTIALS = "azure-native:containerservice:listManagedClusterUserCredentials";
const kubeconfigFor = (cluster: string) => `apiVersion: v1\nkind: Config\nclusters:\n- name: ${cluster}\n`;

type Inputs = Record<string, unknown>;
const credentialRequests: Inputs[] = [];
let session: MockSession;
let mod: typeof import("./aks");

beforeAll(async () => {
    ({ session, mod } = await setupComponent(() => import("./aks"), {
        calls: {
            [CREDENTIALS]: (inputs) => {
                credentialRequests.push(inputs);
                const value = Buffer.from(kubeconfigFor(String(inputs.resourceName))).toString("base64");
                return { kubeconfigs: [{ name: "clusterUser", value }] };
            },
        },
        state: {
            [T.rg]: (_, name) => ({ name }),
            [T.vnet]: (_, name) => ({ name }),
            [T.cluster]: (inputs, name) => ({
                name,
                fqdn: `${name}-dns.hcp.westeurope.azmk8s.io`,
                privateFQDN: `${name}-dns.privatelink.westeurope.azmk8s.io`,
                oidcIssuerProfile: { enabled: true, issuerURL: `https://westeurope.oic.prod-aks.azure.com/tenant/${name}/` },
                identity: { ...(inputs.identity as object), principalId: `principal-of-${name}` },
            }),
        },
    }));
});
beforeEach(() => {
    session.reset();
    credentialRequests.length = 0;
});

type Args = import("./aks").AksClusterArgs;
const base: Args = { adminGroupObjectIds: ADMINS, tags };
const build = (name: string, args: Args = base) => settled(session, () => new mod.AksCluster(name, args));
const clusterInputs = (name: string) => session.get(T.cluster, `${name}-cluster`).inputs;

describe("validateAksClusterArgs", () => {
    const cases: [string, Partial<Args>, RegExp][] = [
        ["a region outside the allowed list", { location: "brazilsouth" }, /location is "brazilsouth"; allowed: westeurope, .*centralus/],
        ["an unpinned Kubernetes version", { kubernetesVersion: "1.29" }, /kubernetesVersion is "1\.29"; allowed: 1\.34, 1\.35, 1\.36/],
        ["a patch version outside the list", { kubernetesVersion: "1.35.2" }, /kubernetesVersion is "1\.35\.2"/],
        ["no network policy engine", { networkPolicy: "none" as "cilium" }, /networkPolicy is "none"; allowed: cilium, calico/],
        ["an unknown pricing tier", { skuTier: "Premium" as "Free" }, /skuTier is "Premium"; allowed: Free, Standard/],
        ["empty admin groups", { adminGroupObjectIds: [] }, /adminGroupObjectIds is empty; allowed: one or more Entra ID group object ids/],
        ["an admin group that is a name", { adminGroupObjectIds: ["platform-admins"] }, /adminGroupObjectIds contains "platform-admins"; allowed: .*GUIDs/],
        ["a system pool of zero nodes", { systemPool: { vmSize: "Standard_D4ds_v5", minCount: 0, maxCount: 3 } }, /systemPool\.minCount is 0; allowed: an integer from 1 to 1000/],
        ["a pool above the AKS limit", { userPool: { vmSize: "Standard_D4ds_v5", minCount: 1, maxCount: 1001 } }, /userPool\.maxCount is 1001; allowed: an integer from 1 to 1000/],
        ["a fractional node count", { userPool: { vmSize: "Standard_D4ds_v5", minCount: 1.5, maxCount: 3 } }, /userPool\.minCount is 1\.5/],
        ["min above max", { userPool: { vmSize: "Standard_D4ds_v5", minCount: 5, maxCount: 3 } }, /userPool\.minCount \(5\) is greater than userPool\.maxCount \(3\)/],
        ["an unknown zone", { availabilityZones: ["1", "4"] }, /availabilityZones is \["1","4"\]; allowed: distinct values out of 1, 2, 3/],
        ["no zones", { availabilityZones: [] }, /availabilityZones is \[\]/],
        ["a malformed VNet CIDR", { vnetCidr: "10.40.0/16" }, /vnetCidr is "10\.40\.0\/16"; allowed: an IPv4 CIDR aligned to its prefix/],
        ["a CIDR with host bits", { vnetCidr: "10.40.0.1/16" }, /vnetCidr is "10\.40\.0\.1\/16"/],
        ["a node subnet outside the VNet", { nodeSubnetCidr: "10.41.0.0/22" }, /nodeSubnetCidr 10\.41\.0\.0\/22 is not inside vnetCidr 10\.40\.0\.0\/16/],
        ["a Postgres subnet outside the VNet", { postgresSubnetCidr: "10.50.8.0/24" }, /postgresSubnetCidr 10\.50\.8\.0\/24 is not inside vnetCidr/],
        ["overlapping subnets", { postgresSubnetCidr: "10.40.2.0/24" }, /nodeSubnetCidr 10\.40\.0\.0\/22 overlaps postgresSubnetCidr 10\.40\.2\.0\/24/],
        ["pods inside the VNet", { podCidr: "10.40.128.0/17" }, /podCidr 10\.40\.128\.0\/17 overlaps vnetCidr 10\.40\.0\.0\/16; allowed: a range outside the VNet/],
        ["services inside the VNet", { serviceCidr: "10.40.0.0/16", dnsServiceIp: "10.40.0.10" }, /serviceCidr 10\.40\.0\.0\/16 overlaps vnetCidr/],
        ["pods overlapping services", { podCidr: "10.0.0.0/16" }, /podCidr 10\.0\.0\.0\/16 overlaps serviceCidr 10\.0\.0\.0\/16/],
        ["a DNS address outside the service range", { dnsServiceIp: "10.1.0.10" }, /dnsServiceIp is "10\.1\.0\.10"; allowed: an address inside serviceCidr 10\.0\.0\.0\/16/],
        ["a node subnet too small for the pools", { nodeSubnetCidr: "10.40.0.0/28" }, /nodeSubnetCidr 10\.40\.0\.0\/28 has 11 usable addresses; allowed: at least 18/],
        ["a malformed authorized range", { authorizedIpRanges: ["office"] }, /authorizedIpRanges contains "office"; allowed: IPv4 CIDRs/],
        ["authorized ranges on a private cluster", { privateCluster: true, authorizedIpRanges: ["203.0.113.0/24"] }, /authorizedIpRanges cannot be set when privateCluster is true/],
    ];
    it.each(cases)("rejects %s, naming the setting", (_, override, message) => {
        expect(() => mod.validateAksClusterArgs("c1", { ...base, ...override })).toThrow(message);
        expect(() => mod.validateAksClusterArgs("c1", { ...base, ...override })).toThrow(/^aks cluster "c1": /);
    });

    it("rejects a name that cannot be a DNS prefix", () => {
        expect(() => mod.validateAksClusterArgs("Prod_AKS", base)).toThrow(/name "Prod_AKS" must be 2-40 lower-case letters/);
    });

    it("accepts the defaults, calico, and a restricted or private API server", () => {
        expect(() => mod.validateAksClusterArgs("c1", base)).not.toThrow();
        expect(() => mod.validateAksClusterArgs("c1", { ...base, networkPolicy: "calico" })).not.toThrow();
        expect(() => mod.validateAksClusterArgs("c1", { ...base, authorizedIpRanges: ["203.0.113.0/24"] })).not.toThrow();
        expect(() => mod.validateAksClusterArgs("c1", { ...base, privateCluster: true })).not.toThrow();
    });

    it("validates before registering anything", async () => {
        await expectRefusedBeforeRegistering(session, () => new mod.AksCluster("bad", { ...base, kubernetesVersion: "1.20" }), /kubernetesVersion/);
    });
});

describe("AksCluster", () => {
    it("puts the five required tags on every taggable Azure resource, and extras cannot override them", async () => {
        await build("tagged", { ...base, extraTags: { owner: "intruder", team: "payments" } });
        const azure = session.resources.filter((r) => r.type.startsWith("azure-native:"));
        const taggable = azure.filter((r) => takesTags(r.type));
        expect(new Set(taggable.map((r) => r.type))).toEqual(new Set([T.rg, T.vnet, T.cluster, T.pool]));
        for (const r of taggable) {
            expect(r.inputs.tags, `${r.type} ${r.name}`).toEqual({ ...TEST_CLOUD_TAGS, team: "payments" });
        }
        // The inline system pool's scale set is tagged too.
        const [system] = clusterInputs("tagged").agentPoolProfiles as Inputs[];
        expect(system.tags).toEqual({ ...TEST_CLOUD_TAGS, team: "payments" });
        // The typings check is what makes the loop cover every type: it must tell both kinds apart.
        expect(takesTags(T.subnet)).toBe(false);
        expect(takesTags(T.role)).toBe(false);
    });

    it("allows Entra ID access only, with Azure RBAC, and turns on OIDC and workload identity", async () => {
        await build("secure");
        const c = clusterInputs("secure");
        expect(c.aadProfile).toEqual({ managed: true, enableAzureRBAC: true, adminGroupObjectIDs: ADMINS });
        expect(c.disableLocalAccounts).toBe(true);
        expect(c.enableRBAC).toBe(true);
        expect(c.oidcIssuerProfile).toEqual({ enabled: true });
        expect(c.securityProfile).toEqual({ workloadIdentity: { enabled: true } });
        expect(c.autoUpgradeProfile).toMatchObject({ upgradeChannel: "patch" });
        expect(c.identity).toEqual({ type: "SystemAssigned" });
    });

    it("enforces network policies with Cilium by default, or Calico when asked", async () => {
        new mod.AksCluster("cil", base);
        new mod.AksCluster("cal", { ...base, networkPolicy: "calico" });
        await settle(session);
        expect(clusterInputs("cil").networkProfile).toMatchObject({
            networkPlugin: "azure", networkPluginMode: "overlay", networkDataplane: "cilium", networkPolicy: "cilium",
            podCidr: "192.168.0.0/16", serviceCidr: "10.0.0.0/16", dnsServiceIP: "10.0.0.10",
        });
        expect(clusterInputs("cal").networkProfile).toMatchObject({ networkPlugin: "azure", networkDataplane: "azure", networkPolicy: "calico" });
    });

    it("pins the Kubernetes version on the cluster and both pools", async () => {
        expect(mod.AKS_SUPPORTED_KUBERNETES_VERSIONS).toContain(mod.AKS_KUBERNETES_VERSION);
        await build("pinned");
        const c = clusterInputs("pinned");
        expect(c.kubernetesVersion).toBe(mod.AKS_KUBERNETES_VERSION);
        expect((c.agentPoolProfiles as Inputs[])[0].orchestratorVersion).toBe(mod.AKS_KUBERNETES_VERSION);
        expect(session.get(T.pool, "pinned-user").inputs.orchestratorVersion).toBe(mod.AKS_KUBERNETES_VERSION);
    });

    it("autoscales a tainted zonal system pool and a separate user pool within their bounds", async () => {
        await build("pools", {
            ...base,
            systemPool: { vmSize: "Standard_D2ds_v5", minCount: 3, maxCount: 5 },
            userPool: { vmSize: "Standard_D8ds_v5", minCount: 1, maxCount: 9 },
        });
        const profiles = clusterInputs("pools").agentPoolProfiles as Inputs[];
        expect(profiles).toHaveLength(1);
        expect(profiles[0]).toMatchObject({
            name: "system", mode: "System", vmSize: "Standard_D2ds_v5", enableAutoScaling: true, count: 3, minCount: 3, maxCount: 5,
            availabilityZones: ["1", "2", "3"], nodeTaints: ["CriticalAddonsOnly=true:NoSchedule"], vnetSubnetID: "pools-nodes-id",
        });
        expect(session.get(T.pool, "pools-user").inputs).toMatchObject({
            resourceName: "pools-cluster", agentPoolName: "user", mode: "User", vmSize: "Standard_D8ds_v5",
            enableAutoScaling: true, count: 1, minCount: 1, maxCount: 9, availabilityZones: ["1", "2", "3"], vnetSubnetID: "pools-nodes-id",
        });
    });

    it("creates the VNet with a node subnet and a subnet delegated to Postgres Flexible Server", async () => {
        const c = await build("net", { ...base, location: "swedencentral" });
        expect(session.get(T.vnet, "net-vnet").inputs).toMatchObject({ location: "swedencentral", addressSpace: { addressPrefixes: ["10.40.0.0/16"] } });
        expect(session.get(T.subnet, "net-nodes").inputs).toMatchObject({ virtualNetworkName: "net-vnet", addressPrefix: "10.40.0.0/22" });
        expect(session.get(T.subnet, "net-postgres").inputs).toMatchObject({
            virtualNetworkName: "net-vnet",
            addressPrefix: "10.40.8.0/24",
            delegations: [{ serviceName: "Microsoft.DBforPostgreSQL/flexibleServers" }],
        });
        expect(await valueOf(c.postgresSubnetId)).toBe("net-postgres-id");
        expect(await valueOf(c.vnetId)).toBe("net-vnet-id");
        expect(await valueOf(c.resourceGroupName)).toBe("net-rg");
    });

    it("decodes the user kubeconfig into a secret that the provider uses, with server-side apply", async () => {
        const c = await build("kube");
        expect(credentialRequests).toEqual([{ resourceGroupName: "kube-rg", resourceName: "kube-cluster", format: "exec" }]);
        expect(await isSecret(c.kubeconfig)).toBe(true);
        expect(await valueOf(c.kubeconfig)).toBe(kubeconfigFor("kube-cluster"));
        const provider = session.get(K8S.provider, "kube-provider");
        // The provider receives the kubeconfig as a secret (the wire form of a secret value).
        expect(provider.inputs.kubeconfig).toEqual({
            [pulumi.runtime.specialSigKey]: pulumi.runtime.specialSecretSig,
            value: kubeconfigFor("kube-cluster"),
        });
        expect(provider.inputs.enableServerSideApply).toBe("true");
        expect(c.provider).toBeInstanceOf(pulumi.ProviderResource);
        expect(c.deliveryMode).toBe("apply");
        expect(await valueOf(c.clusterName)).toBe("kube-cluster");
        expect(await valueOf(c.oidcIssuerUrl)).toBe("https://westeurope.oic.prod-aks.azure.com/tenant/kube-cluster/");
    });

    it("restricts a public API server to authorized ranges, or makes it private", async () => {
        new mod.AksCluster("open", base);
        new mod.AksCluster("ranged", { ...base, authorizedIpRanges: ["203.0.113.0/24"] });
        const priv = new mod.AksCluster("priv", { ...base, privateCluster: true });
        await settle(session);
        expect(clusterInputs("open").apiServerAccessProfile).toEqual({});
        expect(clusterInputs("ranged").apiServerAccessProfile).toEqual({ authorizedIPRanges: ["203.0.113.0/24"] });
        expect(clusterInputs("priv").apiServerAccessProfile).toEqual({ enablePrivateCluster: true });
        expect(await valueOf(priv.records[0].statusEndpoints[0] as pulumi.Output<string>)).toBe(
            "https://priv-cluster-dns.privatelink.westeurope.azmk8s.io",
        );
    });

    it("grants the cluster identity Network Contributor on the node subnet, for either identity kind", async () => {
        new mod.AksCluster("sys", base);
        new mod.AksCluster("uai", {
            ...base,
            identity: { type: "UserAssigned", resourceId: "/subscriptions/s/resourceGroups/id/providers/Microsoft.ManagedIdentity/userAssignedIdentities/aks", principalId: "uai-principal" },
        });
        await settle(session);
        const sys = session.get(T.role, "sys-network-contributor").inputs;
        expect(sys).toMatchObject({ principalId: "principal-of-sys-cluster", principalType: "ServicePrincipal", scope: "sys-nodes-id" });
        expect(sys.roleDefinitionId).toMatch(/\/providers\/Microsoft\.Authorization\/roleDefinitions\/4d97b98b-1d4f-4787-a291-c67834d3a4d7$/);
        expect(session.get(T.role, "uai-network-contributor").inputs).toMatchObject({ principalId: "uai-principal", scope: "uai-nodes-id" });
        expect(clusterInputs("uai").identity).toEqual({
            type: "UserAssigned",
            userAssignedIdentities: ["/subscriptions/s/resourceGroups/id/providers/Microsoft.ManagedIdentity/userAssignedIdentities/aks"],
        });
    });

    it("reports a deployed cluster record with the node count and the API server URL", async () => {
        const c = await build("rec");
        const [record] = c.records;
        expect(record).toMatchObject({ id: "cluster", template: "platform:cluster:AksCluster", status: "deployed", dependsOn: [] });
        expect(await valueOf(record.count as pulumi.Output<number>)).toBe(4);
        expect(await valueOf(record.statusEndpoints[0] as pulumi.Output<string>)).toBe("https://rec-cluster-dns.hcp.westeurope.azmk8s.io");
    });

    it("protects the resource group and the cluster when asked, and not by default", async () => {
        new mod.AksCluster("keep", { ...base, protect: true });
        new mod.AksCluster("temp", base);
        await settle(session);
        expect(session.get(T.rg, "keep-rg").protect).toBe(true);
        expect(session.get(T.cluster, "keep-cluster").protect).toBe(true);
        expect(session.get(T.rg, "temp-rg").protect).toBe(false);
        expect(session.get(T.cluster, "temp-cluster").protect).toBe(false);
    });

    it("names children after the instance, so two instances do not collide", async () => {
        new mod.AksCluster("one", base);
        new mod.AksCluster("two", base);
        await settle(session);
        expectDistinctInstances(session, ["one", "two"], "custom");
        expect(session.ofType(T.cluster).map((r) => r.inputs.dnsPrefix).sort()).toEqual(["one", "two"]);
    });
});
