/**
 * The policy pack's evaluation time per resource: every policy of the pack
 * over 5,000 resources shaped like the platform's (Kubernetes workloads and
 * objects, taggable AWS and Azure resources, databases, mesh policies), plus
 * the stack policies once over all of them. In-process: what the analyzer
 * spends, without the engine's RPC.
 */
import { ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";

import { POLICIES } from "../policies/policies";
import { resourceArgs, StackResource, stackViolationsOf } from "../policies/test/validate";

const tags = {
    owner: "team@example.com",
    environment: "prod",
    "cost-center": "PLT-0001",
    "managed-by": "pulumi",
    repository: "gitlab.example.com/platform/platform-gitops",
};
const labels = {
    "app.kubernetes.io/managed-by": "pulumi",
    "app.kubernetes.io/part-of": "platform",
    "platform.example.com/environment": "prod",
    "platform.example.com/owner": "team_at_example.com",
    "platform.example.com/cost-center": "PLT-0001",
};
const container = { name: "app", image: "registry.example.com/app:1.2.3", resources: { requests: { cpu: "10m", memory: "64Mi" }, limits: { memory: "128Mi" } } };

const SHAPES: StackResource[] = [
    { type: "kubernetes:apps/v1:Deployment", name: "d", props: { metadata: { labels }, spec: { template: { spec: { containers: [container, container] } } } } },
    { type: "kubernetes:core/v1:Service", name: "s", props: { metadata: { labels }, spec: { type: "ClusterIP" } } },
    { type: "kubernetes:core/v1:ConfigMap", name: "c", props: { metadata: { labels }, data: { a: "b" } } },
    { type: "kubernetes:networking.k8s.io/v1:NetworkPolicy", name: "n", props: { metadata: { labels }, spec: {} } },
    { type: "kubernetes:security.istio.io/v1:PeerAuthentication", name: "p", props: { metadata: { labels, name: "x", namespace: "apps" }, spec: { mtls: { mode: "STRICT" } } } },
    { type: "aws:ec2/subnet:Subnet", name: "sn", props: { tags } },
    { type: "aws:iam/role:Role", name: "r", props: { tags } },
    { type: "aws:iam/rolePolicyAttachment:RolePolicyAttachment", name: "rpa", props: {} },
    { type: "aws:rds/instance:Instance", name: "db", props: { tags, storageEncrypted: true, backupRetentionPeriod: 35, publiclyAccessible: false }, protect: true },
    { type: "azure-native:network:Subnet", name: "az-sn", props: {} },
    { type: "azure-native:resources:ResourceGroup", name: "rg", props: { tags } },
    { type: "azure-native:dbforpostgresql:Server", name: "pg", props: { tags, network: { publicNetworkAccess: "Disabled" }, backup: { backupRetentionDays: 35 } }, protect: true },
];

export async function policyEvaluation(count = 5000): Promise<{ perResourceMs: number; totalMs: number; violations: number }> {
    const resources = Array.from({ length: count }, (_, i) => {
        const shape = SHAPES[i % SHAPES.length];
        return { ...shape, name: `${shape.name}-${i}` };
    });
    const resourcePolicies = POLICIES.filter((p): p is ResourceValidationPolicy => "validateResource" in p);
    const stackPolicies = POLICIES.filter((p): p is StackValidationPolicy => "validateStack" in p);
    let violations = 0;
    const start = process.hrtime.bigint();
    for (const r of resources) {
        const args = resourceArgs(r.type, r.props, r.name, { stack: "prod", protect: r.protect });
        for (const policy of resourcePolicies) {
            const validate = policy.validateResource;
            for (const v of Array.isArray(validate) ? validate : validate ? [validate] : []) {
                await v(args, () => violations++);
            }
        }
    }
    for (const policy of stackPolicies) {
        violations += (await stackViolationsOf(policy, resources, { stack: "prod" })).length;
    }
    const totalMs = Number(process.hrtime.bigint() - start) / 1e6;
    return { perResourceMs: totalMs / count, totalMs, violations };
}
