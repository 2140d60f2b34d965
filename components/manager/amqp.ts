import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

import { VALUES_NOT_RENDERED_ANNOTATION } from "../shared/generated-secret";
import { secretCopyName, secretCopyObjects } from "../shared/secret-copy";
import type { ManagerDatabaseFiles } from "./database";

/** The event bus: a RabbitMq instance fits (its namespace, host, port, user, credentials Secret and password). */
export interface ManagerRabbitMq {
    /** The broker's namespace, where `credentialsSecretName` lives (egress to it only). */
    namespace: string;
    host: string;
    port: number;
    username: string;
    /** The Secret in `namespace` holding the user's password (key `password`): RabbitMq's `rabbitmq-default-user`. Rendering, a Job copies it from there. */
    credentialsSecretName: string;
    /** Secret output; written only to the manager's own Secret (apply mode), never rendered. */
    password: pulumi.Output<string>;
}

/** The manager's own Secret of the bus: key `url` (no password, not secret) and key `password`. */
export const MANAGER_AMQP_SECRET = "platform-manager-amqp";

/** The broker's URL without the password: `amqp://user@host:port/` (the default vhost). */
export function passwordlessAmqpUrl(bus: Pick<ManagerRabbitMq, "host" | "port" | "username">): string {
    return `amqp://${encodeURIComponent(bus.username)}@${bus.host}:${bus.port}/`;
}

/**
 * The broker's credentials, as the database's of an in-cluster server
 * (database.ts): the password is in RabbitMq's credentials Secret, in the
 * broker's namespace, and a pod mounts only Secrets of its own. The manager
 * gets a Secret of its own with the password-less URL (`url`) and the
 * password (`password`), passed as `--amqp-url-file` and
 * `--amqp-password-file`. Applying, the program writes the password (it knows
 * the value, a secret output); rendering, the tree holds no credential and the
 * value is only generated in the cluster, so a Job copies it there
 * (components/shared/secret-copy.ts). The Job only talks to the API server,
 * which the manager's namespace may reach already (the Lease).
 */
export function amqpFromRabbitMq(
    name: string,
    bus: ManagerRabbitMq,
    o: { namespace: string; rendered: boolean; labels: Record<string, string>; provider: k8s.Provider; dir: string },
    opts: pulumi.CustomResourceOptions,
): ManagerDatabaseFiles {
    const url = passwordlessAmqpUrl(bus);
    const secret = new k8s.core.v1.Secret(
        `${name}-amqp`,
        {
            metadata: {
                name: MANAGER_AMQP_SECRET,
                namespace: o.namespace,
                labels: o.labels,
                ...(o.rendered
                    ? { annotations: { [VALUES_NOT_RENDERED_ANNOTATION]: `not rendered: key password copied in the cluster from ${bus.namespace}/${bus.credentialsSecretName} by the Job ${secretCopyName(MANAGER_AMQP_SECRET)}` } }
                    : {}),
            },
            type: "Opaque",
            stringData: o.rendered ? { url } : pulumi.secret(pulumi.output(bus.password).apply((password) => ({ url, password }))),
        },
        { ...opts, provider: o.provider, additionalSecretOutputs: ["stringData", "data"] },
    );
    const deps: pulumi.Resource[] = [secret];
    if (o.rendered) {
        deps.push(
            secretCopyObjects(
                `${name}-amqp`,
                {
                    from: { namespace: bus.namespace, secretName: bus.credentialsSecretName, key: "password" },
                    to: { namespace: o.namespace, secretName: MANAGER_AMQP_SECRET, key: "password" },
                    labels: o.labels,
                    provider: o.provider,
                },
                { parent: opts.parent, dependsOn: [secret] },
            ),
        );
    }
    return {
        secretName: MANAGER_AMQP_SECRET,
        keys: ["url", "password"],
        args: ["--amqp-url-file", `${o.dir}/url`, "--amqp-password-file", `${o.dir}/password`],
        deps,
    };
}
