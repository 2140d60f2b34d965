/**
 * The RBAC leader election needs: a Role in the Lease's namespace and a
 * RoleBinding granting it to the manager's ServiceAccount. Pure object specs:
 * the manager component renders them with its other resources.
 */

export interface PolicyRule {
    apiGroups: string[];
    resources: string[];
    resourceNames?: string[];
    verbs: string[];
}

export interface Role {
    apiVersion: "rbac.authorization.k8s.io/v1";
    kind: "Role";
    metadata: { name: string; namespace: string; labels?: Record<string, string> };
    rules: PolicyRule[];
}

export interface RoleBinding {
    apiVersion: "rbac.authorization.k8s.io/v1";
    kind: "RoleBinding";
    metadata: { name: string; namespace: string; labels?: Record<string, string> };
    roleRef: { apiGroup: "rbac.authorization.k8s.io"; kind: "Role"; name: string };
    subjects: { kind: "ServiceAccount"; name: string; namespace: string }[];
}

export interface LeaseRbacOptions {
    /** Where the Lease lives (the Role and RoleBinding go there too). */
    namespace: string;
    leaseName: string;
    serviceAccountName: string;
    /** The ServiceAccount's namespace; default `namespace`. */
    serviceAccountNamespace?: string;
    /** Name of the Role and RoleBinding; default `<leaseName>-leader-election`. */
    name?: string;
    labels?: Record<string, string>;
}

export function leaseRbac(options: LeaseRbacOptions): { role: Role; roleBinding: RoleBinding } {
    const name = options.name ?? `${options.leaseName}-leader-election`;
    const labels = options.labels ? { labels: { ...options.labels } } : {};
    return {
        role: {
            apiVersion: "rbac.authorization.k8s.io/v1",
            kind: "Role",
            metadata: { name, namespace: options.namespace, ...labels },
            rules: [
                { apiGroups: ["coordination.k8s.io"], resources: ["leases"], resourceNames: [options.leaseName], verbs: ["get", "update"] },
                // A create request carries no name RBAC could match, so resourceNames
                // cannot restrict it: create is granted on leases in this namespace.
                { apiGroups: ["coordination.k8s.io"], resources: ["leases"], verbs: ["create"] },
            ],
        },
        roleBinding: {
            apiVersion: "rbac.authorization.k8s.io/v1",
            kind: "RoleBinding",
            metadata: { name, namespace: options.namespace, ...labels },
            roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name },
            subjects: [{ kind: "ServiceAccount", name: options.serviceAccountName, namespace: options.serviceAccountNamespace ?? options.namespace }],
        },
    };
}
