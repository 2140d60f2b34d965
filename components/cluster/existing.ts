import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

import { ComponentType, RECORD_IDS, RecordSource, ResourceRecord, resourceRecord } from "../shared/records";
import { Cluster, DeliveryMode } from "./types";
import { ExistingClusterArgs, validateExistingClusterArgs } from "./validate";

// The args are declared with their checks (validate.ts): the validation never imports the component.
export type { ExistingClusterArgs };

const TYPE: ComponentType = "platform:cluster:ExistingCluster";

/**
 * A cluster the platform does not create: kind, k3d, microk8s or any cluster a
 * kubeconfig points at, or no cluster at all (render mode).
 */
export class ExistingCluster extends pulumi.ComponentResource implements Cluster, RecordSource {
    public readonly clusterName: pulumi.Output<string>;
    public readonly kubeconfig: pulumi.Output<string>;
    public readonly provider: k8s.Provider;
    public readonly oidcIssuerUrl: pulumi.Output<string | undefined>;
    public readonly deliveryMode: DeliveryMode;
    public readonly records: ResourceRecord[];

    constructor(name: string, args: ExistingClusterArgs, opts?: pulumi.ComponentResourceOptions) {
        validateExistingClusterArgs(name, args);
        super(TYPE, name, {}, opts);

        this.deliveryMode = args.deliveryMode;
        this.clusterName = pulumi.output(args.clusterName ?? args.context ?? name);
        this.kubeconfig = pulumi.secret(args.kubeconfig ?? "");
        this.oidcIssuerUrl = pulumi.output(undefined);

        this.provider = new k8s.Provider(
            `${name}-provider`,
            args.deliveryMode === "render"
                ? {
                      renderYamlToDirectory: args.renderDirectory,
                      // The SDK falls back to $KUBECONFIG when kubeconfig is unset, and the
                      // provider refuses a kubeconfig together with renderYamlToDirectory.
                      kubeconfig: "",
                  }
                : {
                      kubeconfig: this.kubeconfig,
                      context: args.context,
                      // Server-side apply: field ownership is tracked by the API server,
                      // so drift from other managers is detected.
                      enableServerSideApply: true,
                  },
            { parent: this },
        );

        this.records = [
            resourceRecord(TYPE, {
                id: RECORD_IDS.cluster,
                count: 1,
                status: args.deliveryMode === "render" ? "rendered" : "deployed",
                entrypoints: [],
                statusEndpoints: [],
                dependsOn: [],
            }),
        ];

        this.registerOutputs({
            clusterName: this.clusterName,
            kubeconfig: this.kubeconfig,
            deliveryMode: this.deliveryMode,
        });
    }
}
