// The platform's CrossGuard policy pack. One policy per file under rules/.
// Levels can be changed per environment with --policy-pack-config
// (policies/config/<environment>.json; `./platform` passes it).
import { PolicyPack } from "@pulumi/policy";

import { POLICIES } from "./policies";

new PolicyPack("platform", { policies: POLICIES });
