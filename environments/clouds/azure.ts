import { RoleAssignment } from "@pulumi/azure-native/authorization/roleAssignment";
import { getClientConfigOutput } from "@pulumi/azure-native/authorization/getClientConfig";
import { Key } from "@pulumi/azure-native/keyvault/key";
import { Vault } from "@pulumi/azure-native/keyvault/vault";
import { FederatedIdentityCredential } from "@pulumi/azure-native/managedidentity/federatedIdentityCredential";
import { UserAssignedIdentity } from "@pulumi/azure-native/managedidentity/userAssignedIdentity";
import * as pulumi from "@pulumi/pulumi";

import { AksCluster } from "../../components/cluster/aks";
import { AzurePostgresServer } from "../../components/postgres/azure";
import { cloudTags } from "../../components/shared/tags";
import { hostOf, parseCidr, subnetOf } from "../../components/shared/cidr";
import { CloudFoundationBuilder, unsealKeyRecord, VAULT_SERVICE_ACCOUNT } from "./types";

/** Built-in role that may wrap and unwrap with a Key Vault key. */
const KEY_VAULT_CRYPTO_USER = "12338af0-0e69-4776-bea7-57ae8d297424";

/** AKS, Flexible Server, and a Key Vault key Vault unseals with through workload identity. */
export const buildAzureFoundation: CloudFoundationBuilder = (config, profile, tags) => {
    const client = getClientConfigOutput();
    const network = config.networkCidr ? parseCidr(config.networkCidr) : undefined;
    const services = config.serviceCidr ? parseCidr(config.serviceCidr) : undefined;
    const cluster = new AksCluster("cluster", {
        location: config.region,
        // A /16 from the stack: nodes in the first /22, Postgres in the ninth /24.
        ...(network
            ? { vnetCidr: config.networkCidr, nodeSubnetCidr: subnetOf(network, 22, 0), postgresSubnetCidr: subnetOf(network, 24, 8) }
            : {}),
        ...(services ? { serviceCidr: config.serviceCidr, dnsServiceIp: hostOf(services, 10) } : {}),
        tags,
        adminGroupObjectIds: config.clusterAdmins,
        userPool: { vmSize: "Standard_D4ds_v5", minCount: profile.nodes.min, maxCount: profile.nodes.max },
        skuTier: profile.production ? "Standard" : "Free",
        protect: profile.protect,
    });
    const postgres = new AzurePostgresServer("postgres", {
        resourceGroupName: cluster.resourceGroupName,
        location: cluster.location,
        delegatedSubnetId: cluster.postgresSubnetId,
        virtualNetworkId: cluster.vnetId,
        tags,
        production: profile.production,
        protect: profile.protect,
    });

    const keyVault = new Vault(
        "vault-unseal",
        {
            resourceGroupName: cluster.resourceGroupName,
            location: cluster.location,
            properties: {
                tenantId: client.tenantId,
                sku: { family: "A", name: "standard" },
                enableRbacAuthorization: true,
                // Losing the unseal key makes Vault's data unreadable.
                enablePurgeProtection: true,
                softDeleteRetentionInDays: 90,
                publicNetworkAccess: "Enabled",
            },
            tags: cloudTags(tags, { purpose: "vault-unseal" }),
        },
        { protect: true },
    );
    const unsealKey = new Key(
        "vault-unseal-key",
        {
            resourceGroupName: cluster.resourceGroupName,
            vaultName: keyVault.name,
            keyName: "vault-unseal",
            properties: { kty: "RSA", keySize: 2048, keyOps: ["wrapKey", "unwrapKey"] },
            tags: cloudTags(tags, { purpose: "vault-unseal" }),
        },
        { protect: true },
    );
    const identity = new UserAssignedIdentity("vault-identity", {
        resourceGroupName: cluster.resourceGroupName,
        location: cluster.location,
        tags: cloudTags(tags, { purpose: "vault-unseal" }),
    });
    new FederatedIdentityCredential("vault-federation", {
        resourceGroupName: cluster.resourceGroupName,
        resourceName: identity.name,
        issuer: cluster.oidcIssuerUrl.apply((u) => u ?? ""),
        subject: `system:serviceaccount:${VAULT_SERVICE_ACCOUNT.namespace}:${VAULT_SERVICE_ACCOUNT.name}`,
        audiences: ["api://AzureADTokenExchange"],
    });
    new RoleAssignment("vault-unseal-access", {
        scope: keyVault.id,
        principalId: identity.principalId,
        principalType: "ServicePrincipal",
        roleDefinitionId: pulumi.interpolate`/subscriptions/${client.subscriptionId}/providers/Microsoft.Authorization/roleDefinitions/${KEY_VAULT_CRYPTO_USER}`,
    });

    return {
        cluster,
        postgres,
        vault: {
            kind: "ha",
            replicas: profile.vaultReplicas,
            seal: { type: "azurekeyvault", tenantId: client.tenantId, vaultName: keyVault.name, keyName: unsealKey.name },
            serviceAccountAnnotations: { "azure.workload.identity/client-id": identity.clientId },
            podLabels: { "azure.workload.identity/use": "true" },
        },
        extraRecords: [unsealKeyRecord("azure-native:keyvault:Key")],
    };
};
