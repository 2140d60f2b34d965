// The platform's CrossGuard policy pack. One policy per file under rules/.
import { PolicyPack } from "@pulumi/policy";

import { kubernetesStandardLabels } from "./rules/kubernetes-standard-labels";

new PolicyPack("platform", {
    policies: [kubernetesStandardLabels],
});
