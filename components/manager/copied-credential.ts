import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

import { VALUES_NOT_RENDERED_ANNOTATION } from "../shared/generated-secret";
import { secretCopyName, secretCopyObjects } from "../shared/secret-copy";

/** What the Deployment mounts and passes: the Secret, its keys, the flags, and what must exist first. */
export interface ManagerDatabaseFiles {
    secretName: string;
    keys: string[];
    args: string[];
    deps: pulumi.Resource[];
}

/** A credential of another namespace's Secret the manager uses: a password-less URL and the password. */
export interface CopiedCredential {
    /** Name of the Pulumi Secret resource, and prefix of the copy Job's. */
    resourceName: string;
    /** The manager's own Secret (keys `url` and `password`). */
    secretName: string;
    /** The URL without the password (not secret). */
    url: string;
    /** Where the password is (key `password`): rendering, the Job copies it from there. */
    from: { namespace: string; secretName: string };
    /** Secret output; written only to the manager's own Secret (apply mode), never rendered. */
    password: pulumi.Output<string>;
    /** The manager's flags, without `-url-file` / `-password-file` (`--amqp`, `--database`). */
    flagPrefix: string;
}

/** Where the manager's copy goes: its namespace, the mode, its labels, the cluster, and the folder the Secret is mounted at. */
export interface CopiedCredentialTarget {
    namespace: string;
    rendered: boolean;
    labels: Record<string, string>;
    provider: k8s.Provider;
    dir: string;
}

/**
 * A credential in another namespace (the broker's, an in-cluster Postgres
 * role's), for a pod that mounts only Secrets of its own: the manager gets a
 * Secret of its own with the password-less URL (`url`) and the password
 * (`password`), passed as `<flagPrefix>-url-file` and
 * `<flagPrefix>-password-file`. Applying, the program writes the password (it
 * knows the value, a secret output); rendering, the tree holds no credential
 * and the value is only generated in the cluster, so a Job copies it there
 * (components/shared/secret-copy.ts). The Job only talks to the API server,
 * which the manager's namespace may reach already (the Lease).
 */
export function copiedCredential(
    c: CopiedCredential,
    o: CopiedCredentialTarget,
    opts: pulumi.CustomResourceOptions,
): ManagerDatabaseFiles {
    const secret = new k8s.core.v1.Secret(
        c.resourceName,
        {
            metadata: {
                name: c.secretName,
                namespace: o.namespace,
                labels: o.labels,
                ...(o.rendered
                    ? { annotations: { [VALUES_NOT_RENDERED_ANNOTATION]: `not rendered: key password copied in the cluster from ${c.from.namespace}/${c.from.secretName} by the Job ${secretCopyName(c.secretName)}` } }
                    : {}),
            },
            type: "Opaque",
            stringData: o.rendered ? { url: c.url } : pulumi.secret(pulumi.output(c.password).apply((password) => ({ url: c.url, password }))),
        },
        { ...opts, provider: o.provider, additionalSecretOutputs: ["stringData", "data"] },
    );
    const deps: pulumi.Resource[] = [secret];
    if (o.rendered) {
        deps.push(
            secretCopyObjects(
                c.resourceName,
                {
                    from: { ...c.from, key: "password" },
                    to: { namespace: o.namespace, secretName: c.secretName, key: "password" },
                    labels: o.labels,
                    provider: o.provider,
                },
                { parent: opts.parent, dependsOn: [secret] },
            ),
        );
    }
    return {
        secretName: c.secretName,
        keys: ["url", "password"],
        args: [`${c.flagPrefix}-url-file`, `${o.dir}/url`, `${c.flagPrefix}-password-file`, `${o.dir}/password`],
        deps,
    };
}
