import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

// Here rather than in components/cluster: shared helpers (helm, kubernetes)
// take a Cluster, and shared/ imports from no component. cluster/types.ts
// re-exports both names.

/**
 * How Kubernetes objects reach the cluster:
 * - `apply`: the kubernetes provider applies them to a live API server;
 * - `render`: the provider writes them as YAML manifests to a directory
 *   (no cluster needed; the tree is also a GitOps source for Argo CD or Flux).
 */
export type DeliveryMode = "apply" | "render";

/**
 * The provider-neutral cluster every in-cluster component takes. AKS, EKS and
 * an existing cluster all implement it, so components never depend on a cloud.
 */
export interface Cluster {
    /** The cluster's name (as the cloud or the kubeconfig context knows it). */
    readonly clusterName: pulumi.Output<string>;
    /** Kubeconfig for the cluster; always a secret output. Empty in render mode. */
    readonly kubeconfig: pulumi.Output<string>;
    /** Provider every Kubernetes object of the environment is created with. */
    readonly provider: k8s.Provider;
    /** OIDC issuer URL for workload identity / IRSA, where the cluster has one. */
    readonly oidcIssuerUrl: pulumi.Output<string | undefined>;
    /** Whether objects are applied to the cluster or rendered to manifests. */
    readonly deliveryMode: DeliveryMode;
}
