import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

import { kubectlJobPodTemplate } from "./secret-generator";

/**
 * One key of a Secret copied into a Secret of another namespace, in render
 * mode. A pod mounts only Secrets of its own namespace, and a rendered tree
 * holds no credential: when the source key is generated in the cluster (a
 * GeneratedSecret's Job), a small Job in the target namespace copies it, once
 * it is there. In apply mode the program writes the copy itself (it knows the
 * value) and needs none of this.
 *
 * The Job runs kubectl (the secret generator's image) under a ServiceAccount
 * that may only get the one source Secret and get and patch the one target
 * Secret. The value passes through a file in a memory-backed folder, never a
 * command line. It fails (and is retried with backoff) while the source key is
 * missing; it patches only when the copy differs.
 *
 * Render mode only (copiedCredential creates it only when rendering): the
 * finished Job, succeeded or failed, is deleted SECRET_COPY_TTL_SECONDS after
 * it ends, so the GitOps controller applying the rendered tree (Flux at each
 * reconciliation, Argo CD on its next sync: automatic with self-heal) creates
 * it again and it copies once more. That covers a source filled after the
 * retries ran out, a target Secret recreated without the key, and a changed
 * source password. Pulumi never applies it (apply mode writes the password
 * itself), so the deletion is no drift for `pulumi refresh`.
 */
export const SECRET_COPY_SCRIPT = String.raw`set -euo pipefail
umask 077
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
kubectl get secret "$SOURCE_SECRET" -n "$SOURCE_NAMESPACE" -o json > "$work/source.json"
if ! jq -e --arg k "$SOURCE_KEY" '(.data // {})[$k] // "" | length > 0' "$work/source.json" > /dev/null; then
  echo "secret $SOURCE_NAMESPACE/$SOURCE_SECRET has no key $SOURCE_KEY yet; retrying" >&2
  exit 1
fi
kubectl get secret "$TARGET_SECRET" -n "$TARGET_NAMESPACE" -o json > "$work/target.json"
if jq -e --arg s "$SOURCE_KEY" --arg t "$TARGET_KEY" --slurpfile target "$work/target.json" '.data[$s] == (($target[0].data // {})[$t] // null)' "$work/source.json" > /dev/null; then
  echo "secret $TARGET_NAMESPACE/$TARGET_SECRET: $TARGET_KEY is current, nothing to do"
  exit 0
fi
jq -c --arg s "$SOURCE_KEY" --arg t "$TARGET_KEY" '{data: {($t): .data[$s]}}' "$work/source.json" > "$work/patch.json"
kubectl patch secret "$TARGET_SECRET" -n "$TARGET_NAMESPACE" --type merge --patch-file "$work/patch.json" > /dev/null
echo "secret $TARGET_NAMESPACE/$TARGET_SECRET: $TARGET_KEY copied from $SOURCE_NAMESPACE/$SOURCE_SECRET"
`;

export interface SecretKeyLocation {
    namespace: string;
    secretName: string;
    key: string;
}

export interface SecretCopyArgs {
    from: SecretKeyLocation;
    /** The target Secret must exist (rendered without the key); the Job runs in its namespace. */
    to: SecretKeyLocation;
    labels: Record<string, string>;
    provider: k8s.Provider;
}

/**
 * How long a finished copy Job stays (its logs with it) before Kubernetes
 * deletes it and the next GitOps sync creates it again.
 */
export const SECRET_COPY_TTL_SECONDS = 300;

/**
 * Retries of one copy Job while the source key is missing: the restart delay
 * doubles from 10 s to a cap of 5 to 6 minutes, so about half an hour before
 * the Job fails; after that, recreated on a later sync, it starts again.
 */
export const SECRET_COPY_BACKOFF_LIMIT = 10;

/** The name of the Job (and its ServiceAccount, Roles and RoleBindings) that fills a copy. */
export function secretCopyName(targetSecretName: string): string {
    return `${targetSecretName}-copy`;
}

/** The environment the Job's program reads (see SECRET_COPY_SCRIPT). */
export function secretCopyEnv(args: Pick<SecretCopyArgs, "from" | "to">): Record<string, string> {
    return {
        SOURCE_NAMESPACE: args.from.namespace,
        SOURCE_SECRET: args.from.secretName,
        SOURCE_KEY: args.from.key,
        TARGET_NAMESPACE: args.to.namespace,
        TARGET_SECRET: args.to.secretName,
        TARGET_KEY: args.to.key,
        // kubectl keeps its discovery cache under $HOME; the root filesystem is read-only.
        HOME: "/tmp",
    };
}

/**
 * The ServiceAccount, Roles and RoleBindings (one pair in each namespace) and
 * the Job that copy one key, for a rendered tree only (the Job deletes itself
 * once finished, see SECRET_COPY_TTL_SECONDS). Objects are children of
 * `opts.parent`.
 */
export function secretCopyObjects(name: string, args: SecretCopyArgs, opts: pulumi.CustomResourceOptions): k8s.batch.v1.Job {
    const objectName = secretCopyName(args.to.secretName);
    const labels = { ...args.labels, "app.kubernetes.io/name": "secret-copy", "app.kubernetes.io/instance": objectName };
    const childOpts = { ...opts, provider: args.provider };
    const account = new k8s.core.v1.ServiceAccount(`${name}-copy`, { metadata: { name: objectName, namespace: args.to.namespace, labels } }, childOpts);
    const grants = [
        // The source: read, nothing else.
        { role: "source", at: args.from, verbs: ["get"] },
        // The copy: read and patched.
        { role: "target", at: args.to, verbs: ["get", "patch"] },
    ].flatMap(({ role, at, verbs }) => {
        const meta = { name: objectName, namespace: at.namespace, labels };
        const r = new k8s.rbac.v1.Role(`${name}-copy-${role}`, { metadata: meta, rules: [{ apiGroups: [""], resources: ["secrets"], resourceNames: [at.secretName], verbs }] }, childOpts);
        const b = new k8s.rbac.v1.RoleBinding(
            `${name}-copy-${role}`,
            {
                metadata: meta,
                roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: objectName },
                subjects: [{ kind: "ServiceAccount", name: objectName, namespace: args.to.namespace }],
            },
            { ...childOpts, dependsOn: [r] },
        );
        return [r, b];
    });
    return new k8s.batch.v1.Job(
        `${name}-copy`,
        {
            metadata: { name: objectName, namespace: args.to.namespace, labels },
            spec: {
                // The source is filled by its own generator Job: about half an hour of retries with backoff.
                backoffLimit: SECRET_COPY_BACKOFF_LIMIT,
                // Deleted once finished, so the GitOps controller's next sync runs it again (self-healing).
                ttlSecondsAfterFinished: SECRET_COPY_TTL_SECONDS,
                template: kubectlJobPodTemplate({ labels, serviceAccountName: objectName, containerName: "copy", script: SECRET_COPY_SCRIPT, env: secretCopyEnv(args) }),
            },
        },
        { ...childOpts, dependsOn: [account, ...grants] },
    );
}
