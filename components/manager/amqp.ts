import * as pulumi from "@pulumi/pulumi";

import { copiedCredential, CopiedCredentialTarget, ManagerDatabaseFiles } from "./copied-credential";

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
 * broker's namespace; the manager gets its own copy (copied-credential.ts),
 * passed as `--amqp-url-file` and `--amqp-password-file`.
 */
export function amqpFromRabbitMq(
    name: string,
    bus: ManagerRabbitMq,
    o: CopiedCredentialTarget,
    opts: pulumi.CustomResourceOptions,
): ManagerDatabaseFiles {
    return copiedCredential(
        {
            resourceName: `${name}-amqp`,
            secretName: MANAGER_AMQP_SECRET,
            url: passwordlessAmqpUrl(bus),
            from: { namespace: bus.namespace, secretName: bus.credentialsSecretName },
            password: bus.password,
            flagPrefix: "--amqp",
        },
        o,
        opts,
    );
}
