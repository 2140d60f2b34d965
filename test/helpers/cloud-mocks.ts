/**
 * What the clouds answer under mocks: invoke results and the outputs a cloud
 * assigns (ARNs, endpoints, issuers), for whole-environment tests.
 */
import { MockOptions } from "./mocks";

const ACCOUNT = "111122223333";

export const AWS_MOCKS: Pick<MockOptions, "calls" | "state"> = {
    calls: {
        "aws:index/getAvailabilityZones:getAvailabilityZones": () => ({
            names: ["eu-west-1a", "eu-west-1b", "eu-west-1c"],
            zoneIds: ["euw1-az1", "euw1-az2", "euw1-az3"],
        }),
        "aws:secretsmanager/getSecretVersion:getSecretVersion": (inputs) => ({
            secretId: inputs.secretId,
            secretString: JSON.stringify({ username: "platform_admin", password: "rds-managed" }),
        }),
    },
    state: {
        "aws:iam/role:Role": (_, name) => ({ name, arn: `arn:aws:iam::${ACCOUNT}:role/${name}` }),
        "aws:kms/key:Key": (_, name) => ({ arn: `arn:aws:kms:eu-west-1:${ACCOUNT}:key/${name}`, keyId: name }),
        "aws:eks/cluster:Cluster": (inputs, name) => ({
            endpoint: `https://${name}.gr7.eu-west-1.eks.amazonaws.com`,
            certificateAuthority: { data: "LS0tLS1CRUdJTi1DQQ==" },
            identities: [{ oidcs: [{ issuer: `https://oidc.eks.eu-west-1.amazonaws.com/id/${name.toUpperCase()}` }] }],
            vpcConfig: { ...(inputs.vpcConfig as object), clusterSecurityGroupId: `sg-${name}` },
        }),
        "aws:iam/openIdConnectProvider:OpenIdConnectProvider": (_, name) => ({ arn: `arn:aws:iam::${ACCOUNT}:oidc-provider/${name}` }),
        "aws:rds/instance:Instance": (_, name) => ({
            address: `${name}.abc123.eu-west-1.rds.amazonaws.com`,
            masterUserSecrets: [{ secretArn: `arn:aws:secretsmanager:eu-west-1:${ACCOUNT}:secret:${name}`, secretStatus: "active" }],
        }),
    },
};

export const AZURE_MOCKS: Pick<MockOptions, "calls" | "state"> = {
    calls: {
        "azure-native:containerservice:listManagedClusterUserCredentials": (inputs) => ({
            kubeconfigs: [{ name: "clusterUser", value: Buffer.from(`apiVersion: v1\nkind: Config\n# ${String(inputs.resourceName)}\n`).toString("base64") }],
        }),
        "azure-native:authorization:getClientConfig": () => ({
            tenantId: "00000000-0000-0000-0000-0000000000aa",
            subscriptionId: "00000000-0000-0000-0000-0000000000bb",
            clientId: "00000000-0000-0000-0000-0000000000cc",
            objectId: "00000000-0000-0000-0000-0000000000dd",
        }),
    },
    state: {
        "azure-native:containerservice:ManagedCluster": (_, name) => ({
            name,
            fqdn: `${name}.hcp.westeurope.azmk8s.io`,
            oidcIssuerProfile: { enabled: true, issuerURL: `https://westeurope.oic.prod-aks.azure.com/tenant/${name}/` },
        }),
        "azure-native:dbforpostgresql:Server": (_, name) => ({ name, fullyQualifiedDomainName: `${name}.postgres.database.azure.com` }),
        "azure-native:managedidentity:UserAssignedIdentity": (_, name) => ({ name, clientId: `client-${name}`, principalId: `principal-${name}` }),
        "random:index/randomPassword:RandomPassword": (_, name) => ({ result: `generated-${name}-password` }),
    },
};
