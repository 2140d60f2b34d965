import * as authorization from "@pulumi/azure-native/authorization";
import * as containerservice from "@pulumi/azure-native/containerservice";
import * as network from "@pulumi/azure-native/network";
import * as resources from "@pulumi/azure-native/resources";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

import { ComponentType, RECORD_IDS, RecordSource, ResourceRecord, resourceRecord } from "../shared/records";
import { cloudTags, StandardTags } from "../shared/tags";
import { Cluster, DeliveryMode } from "./types";
import { ENTRA_OBJECT_ID } from "../shared/identifiers";
import { AKS_LOCATIONS } from "./aks-locations";

/**
 * AKS minor versions this component accepts (N-2 window of the AKS release
 * calendar at the time of writing; check `az aks get-versions -l <region>`
 * before moving the pin). A minor alias is used on purpose: AKS resolves it
 * to the latest GA patch and the `patch` auto-upgrade channel keeps it there,
 * so the declared version never drifts from the running one.
 */
export const AKS_SUPPORTED_KUBERNETES_VERSIONS = ["1.34", "1.35", "1.36"] as const;
/** The pinned default: N-1, supported by AKS until about March 2027. */
export const AKS_KUBERNETES_VERSION = "1.35";
// The regions live in an SDK-free file: the stack config loader checks platform:region against them.
export { AKS_LOCATIONS } from "./aks-locations";
export const AKS_NETWORK_POLICIES = ["cilium", "calico"] as const;
const ZONES = ["1", "2", "3"];
/** Delegation the Postgres subnet carries; Flexible Server refuses a subnet without it. */
export const POSTGRES_SUBNET_DELEGATION = "Microsoft.DBforPostgreSQL/flexibleServers";
// Built-in "Network Contributor": the cluster identity needs it on a subnet it did not create.
const NETWORK_CONTRIBUTOR_ROLE = "4d97b98b-1d4f-4787-a291-c67834d3a4d7";
const TYPE: ComponentType = "platform:cluster:AksCluster";

/** One autoscaled node pool. */
export interface AksNodePool {
    /** VM size of the nodes. */
    vmSize: string;
    /** Autoscaler floor (also the node count at creation). */
    minCount: number;
    /** Autoscaler ceiling. */
    maxCount: number;
}

export type AksIdentity =
    | { type: "SystemAssigned" }
    | { type: "UserAssigned"; resourceId: pulumi.Input<string>; principalId: pulumi.Input<string> };

export interface AksClusterArgs {
    /** Entra ID group object ids bound to cluster-admin through Azure RBAC. Required, at least one (local accounts are off). */
    adminGroupObjectIds: string[];
    /** The environment's standard tags, put on every taggable child. Required. */
    tags: StandardTags;
    /** Extra tags on every taggable child; the standard tags win on conflict. Default: none. */
    extraTags?: Record<string, string>;
    /** Azure region, one of `AKS_LOCATIONS`. Default: `westeurope`. */
    location?: string;
    /** Kubernetes minor version, one of `AKS_SUPPORTED_KUBERNETES_VERSIONS`. Default: `AKS_KUBERNETES_VERSION`. */
    kubernetesVersion?: string;
    /** Entra tenant of the admin groups. Default: the subscription's tenant. */
    tenantId?: string;
    /** System pool (tainted CriticalAddonsOnly). Default: `Standard_D4ds_v5`, 2-3 nodes. */
    systemPool?: AksNodePool;
    /** User pool for workloads. Default: `Standard_D4ds_v5`, 2-6 nodes. */
    userPool?: AksNodePool;
    /** Availability zones of both pools. Default: `["1", "2", "3"]`. */
    availabilityZones?: string[];
    /** Network policy engine: `cilium` (Cilium dataplane) or `calico`. Default: `cilium`. */
    networkPolicy?: (typeof AKS_NETWORK_POLICIES)[number];
    /** VNet address space. Default: `10.40.0.0/16`. */
    vnetCidr?: string;
    /** Node subnet, inside the VNet. Default: `10.40.0.0/22`. */
    nodeSubnetCidr?: string;
    /** Subnet delegated to Postgres Flexible Server, inside the VNet. Default: `10.40.8.0/24`. */
    postgresSubnetCidr?: string;
    /** Pod range (CNI overlay: not taken from the VNet). Default: `192.168.0.0/16`. */
    podCidr?: string;
    /** Service range. Default: `10.0.0.0/16`. */
    serviceCidr?: string;
    /** Cluster DNS service address, inside `serviceCidr`. Default: `10.0.0.10`. */
    dnsServiceIp?: string;
    /** CIDRs allowed to reach a public API server. Default: none (any address; Entra ID still required). */
    authorizedIpRanges?: string[];
    /** Private API server (no public endpoint; `pulumi` must run inside the network). Default: `false`. */
    privateCluster?: boolean;
    /** Control-plane identity. Default: `{ type: "SystemAssigned" }`. */
    identity?: AksIdentity;
    /** AKS pricing tier; `Standard` carries the uptime SLA. Default: `Free`. */
    skuTier?: "Free" | "Standard";
    /** Protect the resource group and the cluster from `pulumi destroy`. Default: `false`. */
    protect?: boolean;
}

const defaults = {
    location: "westeurope",
    kubernetesVersion: AKS_KUBERNETES_VERSION,
    systemPool: { vmSize: "Standard_D4ds_v5", minCount: 2, maxCount: 3 },
    userPool: { vmSize: "Standard_D4ds_v5", minCount: 2, maxCount: 6 },
    availabilityZones: ZONES,
    networkPolicy: "cilium",
    vnetCidr: "10.40.0.0/16",
    nodeSubnetCidr: "10.40.0.0/22",
    postgresSubnetCidr: "10.40.8.0/24",
    podCidr: "192.168.0.0/16",
    serviceCidr: "10.0.0.0/16",
    dnsServiceIp: "10.0.0.10",
    authorizedIpRanges: [] as string[],
    privateCluster: false,
    identity: { type: "SystemAssigned" } as AksIdentity,
    skuTier: "Free",
    protect: false,
    extraTags: {} as Record<string, string>,
} satisfies Omit<Required<AksClusterArgs>, "adminGroupObjectIds" | "tags" | "tenantId">;


function ipv4(text: string): number | undefined {
    const parts = text.split(".");
    if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p) || Number(p) > 255)) return undefined;
    return parts.reduce((acc, p) => acc * 256 + Number(p), 0);
}

/** An IPv4 CIDR as [first, last] address, or undefined when malformed or not aligned to its prefix. */
function cidrRange(text: string): [number, number] | undefined {
    const [addr, bits, ...rest] = text.split("/");
    const base = ipv4(addr);
    const prefix = Number(bits);
    if (rest.length || base === undefined || !/^\d{1,2}$/.test(bits ?? "") || prefix > 32) return undefined;
    const size = 2 ** (32 - prefix);
    return base % size === 0 ? [base, base + size - 1] : undefined;
}

/** The args over the defaults; an arg set to `undefined` keeps its default. */
function resolve(args: AksClusterArgs) {
    const given = Object.fromEntries(Object.entries(args).filter(([, v]) => v !== undefined)) as AksClusterArgs;
    return { ...defaults, ...given };
}

/** Throws a message naming the setting, the bad value and what is allowed; touches no resource. */
export function validateAksClusterArgs(name: string, args: AksClusterArgs): void {
    const a = resolve(args);
    const fail = (msg: string): never => {
        throw new Error(`aks cluster "${name}": ${msg}`);
    };
    const oneOf = (key: string, value: string, allowed: readonly string[]) =>
        allowed.includes(value) || fail(`${key} is "${value}"; allowed: ${allowed.join(", ")}`);
    if (!/^[a-z][a-z0-9-]{0,38}[a-z0-9]$/.test(name)) {
        fail(`name "${name}" must be 2-40 lower-case letters, digits or '-' (it is the cluster's DNS prefix)`);
    }
    oneOf("location", a.location, AKS_LOCATIONS);
    oneOf("kubernetesVersion", a.kubernetesVersion, AKS_SUPPORTED_KUBERNETES_VERSIONS);
    oneOf("networkPolicy", a.networkPolicy, AKS_NETWORK_POLICIES);
    oneOf("skuTier", a.skuTier, ["Free", "Standard"]);
    if (a.adminGroupObjectIds.length === 0) {
        fail("adminGroupObjectIds is empty; allowed: one or more Entra ID group object ids (local accounts are disabled)");
    }
    for (const id of a.adminGroupObjectIds) {
        if (!ENTRA_OBJECT_ID.test(id)) fail(`adminGroupObjectIds contains "${id}"; allowed: Entra ID object ids (GUIDs)`);
    }
    for (const [key, pool, floor] of [["systemPool", a.systemPool, 1], ["userPool", a.userPool, 0]] as const) {
        const { minCount: min, maxCount: max } = pool;
        if (!Number.isInteger(min) || min < floor || min > 1000) {
            fail(`${key}.minCount is ${min}; allowed: an integer from ${floor} to 1000`);
        }
        if (!Number.isInteger(max) || max < 1 || max > 1000) fail(`${key}.maxCount is ${max}; allowed: an integer from 1 to 1000`);
        if (min > max) fail(`${key}.minCount (${min}) is greater than ${key}.maxCount (${max})`);
    }
    const zones = a.availabilityZones;
    if (zones.length === 0 || new Set(zones).size !== zones.length || zones.some((z) => !ZONES.includes(z))) {
        fail(`availabilityZones is ${JSON.stringify(zones)}; allowed: distinct values out of ${ZONES.join(", ")}`);
    }

    type Range = [number, number];
    const range = (key: "vnetCidr" | "nodeSubnetCidr" | "postgresSubnetCidr" | "podCidr" | "serviceCidr"): Range =>
        cidrRange(a[key]) ?? fail(`${key} is "${a[key]}"; allowed: an IPv4 CIDR aligned to its prefix, e.g. 10.40.0.0/16`);
    const inside = (i: Range, o: Range) => i[0] >= o[0] && i[1] <= o[1];
    const overlap = (x: Range, y: Range) => x[0] <= y[1] && y[0] <= x[1];
    const [vnet, nodes, pg, pods, services] = [
        range("vnetCidr"), range("nodeSubnetCidr"), range("postgresSubnetCidr"), range("podCidr"), range("serviceCidr"),
    ];
    if (!inside(nodes, vnet)) fail(`nodeSubnetCidr ${a.nodeSubnetCidr} is not inside vnetCidr ${a.vnetCidr}`);
    if (!inside(pg, vnet)) fail(`postgresSubnetCidr ${a.postgresSubnetCidr} is not inside vnetCidr ${a.vnetCidr}`);
    if (overlap(nodes, pg)) fail(`nodeSubnetCidr ${a.nodeSubnetCidr} overlaps postgresSubnetCidr ${a.postgresSubnetCidr}`);
    if (overlap(pods, vnet)) fail(`podCidr ${a.podCidr} overlaps vnetCidr ${a.vnetCidr}; allowed: a range outside the VNet`);
    if (overlap(services, vnet)) {
        fail(`serviceCidr ${a.serviceCidr} overlaps vnetCidr ${a.vnetCidr}; allowed: a range outside the VNet`);
    }
    if (overlap(pods, services)) fail(`podCidr ${a.podCidr} overlaps serviceCidr ${a.serviceCidr}`);
    const dns = ipv4(a.dnsServiceIp);
    if (dns === undefined || !inside([dns, dns], services)) {
        fail(`dnsServiceIp is "${a.dnsServiceIp}"; allowed: an address inside serviceCidr ${a.serviceCidr}`);
    }
    // Azure keeps 5 addresses of every subnet; each node may get a surge twin during upgrades.
    const usable = nodes[1] - nodes[0] - 4;
    const needed = 2 * (a.systemPool.maxCount + a.userPool.maxCount);
    if (usable < needed) {
        fail(`nodeSubnetCidr ${a.nodeSubnetCidr} has ${usable} usable addresses; allowed: at least ${needed} (2 x the pools' maxCount)`);
    }
    for (const r of a.authorizedIpRanges) {
        if (!cidrRange(r)) fail(`authorizedIpRanges contains "${r}"; allowed: IPv4 CIDRs, e.g. 203.0.113.0/24`);
    }
    if (a.privateCluster && a.authorizedIpRanges.length > 0) {
        fail("authorizedIpRanges cannot be set when privateCluster is true (a private API server has no public endpoint)");
    }
}

/**
 * An AKS cluster with Entra ID-only access, workload identity, network
 * policies and autoscaled system and user pools, in its own resource group and
 * VNet; the VNet also holds a subnet delegated to Postgres Flexible Server.
 */
export class AksCluster extends pulumi.ComponentResource implements Cluster, RecordSource {
    public readonly clusterName: pulumi.Output<string>;
    public readonly kubeconfig: pulumi.Output<string>;
    public readonly provider: k8s.Provider;
    public readonly oidcIssuerUrl: pulumi.Output<string | undefined>;
    public readonly deliveryMode: DeliveryMode = "apply";
    public readonly records: ResourceRecord[];
    /** Resource group of the cluster and its network (Postgres goes here too). */
    public readonly resourceGroupName: pulumi.Output<string>;
    public readonly location: string;
    public readonly vnetId: pulumi.Output<string>;
    public readonly nodeSubnetId: pulumi.Output<string>;
    /** Subnet delegated to `Microsoft.DBforPostgreSQL/flexibleServers`, for `AzurePostgresServer`. */
    public readonly postgresSubnetId: pulumi.Output<string>;

    constructor(name: string, args: AksClusterArgs, opts?: pulumi.ComponentResourceOptions) {
        validateAksClusterArgs(name, args);
        super(TYPE, name, {}, opts);
        const a = resolve(args);
        const tags = cloudTags(a.tags, a.extraTags);
        this.location = a.location;

        const rg = new resources.ResourceGroup(`${name}-rg`, { location: a.location, tags }, { parent: this, protect: a.protect });
        this.resourceGroupName = rg.name;
        // No inline `subnets`: standalone Subnet resources survive VNet updates (pulumi/pulumi-azure-native#611).
        const vnet = new network.VirtualNetwork(`${name}-vnet`, {
            resourceGroupName: rg.name, location: a.location, addressSpace: { addressPrefixes: [a.vnetCidr] }, tags,
        }, { parent: this });
        const subnet = { resourceGroupName: rg.name, virtualNetworkName: vnet.name };
        const nodeSubnet = new network.Subnet(`${name}-nodes`, { ...subnet, addressPrefix: a.nodeSubnetCidr }, { parent: this });
        // After the node subnet: Azure refuses concurrent subnet writes on one VNet (AnotherOperationInProgress).
        const pgSubnet = new network.Subnet(`${name}-postgres`, {
            ...subnet,
            addressPrefix: a.postgresSubnetCidr,
            delegations: [{ name: "postgres-flexible-server", serviceName: POSTGRES_SUBNET_DELEGATION }],
        }, { parent: this, dependsOn: [nodeSubnet] });
        this.vnetId = vnet.id;
        this.nodeSubnetId = nodeSubnet.id;
        this.postgresSubnetId = pgSubnet.id;

        const subscription = rg.id.apply((id) => id.split("/resourceGroups/")[0]);
        const networkContributor = (principalId: pulumi.Input<string>) =>
            new authorization.RoleAssignment(`${name}-network-contributor`, {
                principalId, principalType: "ServicePrincipal", scope: nodeSubnet.id,
                roleDefinitionId: pulumi.interpolate`${subscription}/providers/Microsoft.Authorization/roleDefinitions/${NETWORK_CONTRIBUTOR_ROLE}`,
            }, { parent: this });
        // A user-assigned identity exists beforehand, so it gets its role before the cluster is created.
        const identity = a.identity;
        const preRole = identity.type === "UserAssigned" ? [networkContributor(identity.principalId)] : [];

        const pool = (p: AksNodePool) => ({
            type: "VirtualMachineScaleSets", vmSize: p.vmSize, enableAutoScaling: true, count: p.minCount,
            minCount: p.minCount, maxCount: p.maxCount, availabilityZones: a.availabilityZones,
            vnetSubnetID: nodeSubnet.id, orchestratorVersion: a.kubernetesVersion, tags,
        });
        const cilium = a.networkPolicy === "cilium";
        const cluster = new containerservice.ManagedCluster(`${name}-cluster`, {
            resourceGroupName: rg.name, location: a.location, dnsPrefix: name, kubernetesVersion: a.kubernetesVersion,
            sku: { name: "Base", tier: a.skuTier },
            identity: identity.type === "UserAssigned"
                ? { type: "UserAssigned", userAssignedIdentities: [identity.resourceId] }
                : { type: "SystemAssigned" },
            agentPoolProfiles: [{
                ...pool(a.systemPool), name: "system", mode: "System",
                // Only critical add-ons here; workloads go to the user pool.
                nodeTaints: ["CriticalAddonsOnly=true:NoSchedule"],
            }],
            enableRBAC: true,
            aadProfile: { managed: true, enableAzureRBAC: true, adminGroupObjectIDs: a.adminGroupObjectIds, tenantID: a.tenantId },
            disableLocalAccounts: true,
            oidcIssuerProfile: { enabled: true },
            securityProfile: { workloadIdentity: { enabled: true } },
            networkProfile: {
                networkPlugin: "azure",
                // Overlay: pod addresses come from podCidr, not from the VNet.
                networkPluginMode: "overlay",
                networkDataplane: cilium ? "cilium" : "azure",
                networkPolicy: cilium ? "cilium" : "calico",
                podCidr: a.podCidr, serviceCidr: a.serviceCidr, dnsServiceIP: a.dnsServiceIp, loadBalancerSku: "standard",
            },
            autoUpgradeProfile: { upgradeChannel: "patch", nodeOSUpgradeChannel: "NodeImage" },
            apiServerAccessProfile: a.privateCluster
                ? { enablePrivateCluster: true }
                : { authorizedIPRanges: a.authorizedIpRanges.length > 0 ? a.authorizedIpRanges : undefined },
            tags,
        }, {
            parent: this, protect: a.protect, dependsOn: preRole,
            // `count` is required at creation (pulumi/pulumi-azure-native#2943) but owned by the
            // autoscaler afterwards; reapplying it would fight the autoscaler (pulumi/pulumi-azure#780).
            ignoreChanges: ["agentPoolProfiles[0].count"],
        });
        if (identity.type === "SystemAssigned") {
            networkContributor(cluster.identity.apply((i) => i?.principalId ?? ""));
        }
        // A separate AgentPool: AKS refuses new pools added through agentPoolProfiles of an existing cluster.
        const userPool = new containerservice.AgentPool(`${name}-user`, {
            ...pool(a.userPool), resourceGroupName: rg.name, resourceName: cluster.name, agentPoolName: "user", mode: "User",
        }, { parent: this, ignoreChanges: ["count"] });

        this.clusterName = cluster.name;
        this.oidcIssuerUrl = cluster.oidcIssuerProfile.apply((p) => p?.issuerURL);
        // `exec` format: a kubelogin kubeconfig, the only kind that works with local accounts off.
        // Pick the login in CI with AAD_LOGIN_METHOD (e.g. azurecli, workloadidentity).
        const credentials = containerservice.listManagedClusterUserCredentialsOutput(
            { resourceGroupName: rg.name, resourceName: cluster.name, format: "exec" },
            { parent: this },
        );
        this.kubeconfig = pulumi.secret(credentials.apply((c) => {
            const first = c.kubeconfigs[0];
            if (!first) throw new Error(`aks cluster "${name}": AKS returned no user kubeconfig`);
            return Buffer.from(first.value, "base64").toString("utf8");
        }));
        this.provider = new k8s.Provider(`${name}-provider`, {
            kubeconfig: this.kubeconfig,
            // Server-side apply: field ownership is tracked by the API server, so drift is visible.
            enableServerSideApply: true,
        }, { parent: this });

        const fqdn = a.privateCluster ? cluster.privateFQDN : cluster.fqdn;
        this.records = [resourceRecord(TYPE, {
            id: RECORD_IDS.cluster,
            count: pulumi.all([cluster.agentPoolProfiles, userPool.count]).apply(
                ([profiles, user]) => (profiles?.find((p) => p.name === "system")?.count ?? 0) + (user ?? 0)),
            status: "deployed",
            entrypoints: [],
            statusEndpoints: [fqdn.apply((f) => `https://${f}`)],
            dependsOn: [],
        })];

        this.registerOutputs({
            clusterName: this.clusterName, kubeconfig: this.kubeconfig, oidcIssuerUrl: this.oidcIssuerUrl,
            resourceGroupName: this.resourceGroupName, vnetId: this.vnetId, postgresSubnetId: this.postgresSubnetId,
        });
    }
}
