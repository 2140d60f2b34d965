import { UpstreamManifest } from "../shared/chart";

/**
 * The RabbitMQ Cluster Operator's release manifest. The RabbitMQ team ships
 * the operator as a manifest, not a chart (Bitnami's chart is no longer
 * maintained in the open); the operator is what their docs and a production
 * team use. Since 2.20 it needs cert-manager for its webhook certificate.
 */
export const RABBITMQ_OPERATOR_MANIFEST: UpstreamManifest = {
    name: "rabbitmq-cluster-operator",
    version: "v2.22.3",
    url: "https://github.com/rabbitmq/cluster-operator/releases/download/v2.22.3/cluster-operator.yml",
    sha256: "8e2c20fe9fe8fb06a8e4a99574951d7933ba7cbc4d83c854bc5e7acc7dc0624e",
};

// No Helm chart, so no values function and no `platform:chartValues` key: the
// operator is configured through the RabbitmqCluster the component declares.
