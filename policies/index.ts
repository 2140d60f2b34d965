// The platform's CrossGuard policy pack. One policy per file under rules/.
import { PolicyPack } from "@pulumi/policy";

import { containerImagePinned } from "./rules/container-image-pinned";
import { containerResources } from "./rules/container-resources";
import { kubernetesStandardLabels } from "./rules/kubernetes-standard-labels";
import { noLoadBalancerService } from "./rules/no-loadbalancer-service";

new PolicyPack("platform", {
    policies: [kubernetesStandardLabels, containerImagePinned, containerResources, noLoadBalancerService],
});
