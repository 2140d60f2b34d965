// Every policy of the pack, in one list (the pack, its tests and the bench use it).
import { Policies } from "@pulumi/policy";

import { cloudResourceTags } from "./rules/cloud-resource-tags";
import { consistentEnvironment } from "./rules/consistent-environment";
import { containerImagePinned } from "./rules/container-image-pinned";
import { containerResources } from "./rules/container-resources";
import { databaseEncryptedBackedUp } from "./rules/database-encrypted-backed-up";
import { databaseNotPublic } from "./rules/database-not-public";
import { kubernetesStandardLabels } from "./rules/kubernetes-standard-labels";
import { meshMtlsStrict, meshWideStrictMtls } from "./rules/mesh-mtls-strict";
import { noLoadBalancerService } from "./rules/no-loadbalancer-service";
import { statefulResourcesProtected } from "./rules/stateful-resources-protected";
import { vaultNotDevMode } from "./rules/vault-not-dev-mode";

export const POLICIES: Policies = [
    cloudResourceTags,
    kubernetesStandardLabels,
    containerImagePinned,
    containerResources,
    noLoadBalancerService,
    meshMtlsStrict,
    meshWideStrictMtls,
    databaseNotPublic,
    databaseEncryptedBackedUp,
    statefulResourcesProtected,
    vaultNotDevMode,
    consistentEnvironment,
];
