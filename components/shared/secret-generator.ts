import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

/**
 * Generated credentials in render mode, where the tree is committed and a
 * GitOps tool (Argo CD, Flux) applies it: the Secret is rendered with its
 * fixed keys only, and a small Job rendered beside it fills the generated
 * keys in the cluster, once. The values are made where they are used and
 * never exist in the repository, the state or a log.
 *
 * The Job runs `kubectl` with bash and jq from the Kubernetes project's own
 * image, under a ServiceAccount that may only get and patch that one Secret.
 * It only adds keys that are missing, so a re-sync or a re-run never rotates a
 * credential a workload already uses.
 */

/**
 * A key computed from the others: `template` with `{{key}}` replaced by that
 * key's value, then optionally base64-encoded. Declarative, so that the program
 * (apply mode) and the in-cluster Job (render mode) compute the same thing.
 */
export interface DerivedValue {
    template: string;
    encoding?: "base64";
}

/** The Kubernetes project's kubectl image (debian-base: bash, coreutils, jq), at the platform's Kubernetes version. */
export const SECRET_GENERATOR_IMAGE = "registry.k8s.io/kubectl:v1.35.4";

const PLACEHOLDER = /\{\{([A-Za-z0-9_.-]+)\}\}/g;

/** The name of the Job (and its ServiceAccount, Role and RoleBinding) that fills a Secret. */
export function generatorName(secretName: string): string {
    return `${secretName}-generator`;
}

/** The keys a derived template reads. */
export function templateKeys(template: string): string[] {
    return [...template.matchAll(PLACEHOLDER)].map((m) => m[1]);
}

/** The derived keys' values; throws naming a template key that has no value. */
export function deriveValues(values: Record<string, string>, derived: Record<string, DerivedValue>): Record<string, string> {
    return Object.fromEntries(
        Object.entries(derived).map(([key, d]) => {
            const text = d.template.replace(PLACEHOLDER, (_, name: string) => {
                const v = values[name];
                if (v === undefined) {
                    throw new Error(`derived key "${key}": template names "${name}", which is neither a fixed nor a generated key`);
                }
                return v;
            });
            return [key, d.encoding === "base64" ? Buffer.from(text, "utf8").toString("base64") : text];
        }),
    );
}

/**
 * The Job's program. Inputs (environment): NAMESPACE, SECRET_NAME,
 * GENERATED_KEYS (space-separated), LENGTH, DERIVED (JSON of DerivedValue by
 * key). Values only ever pass through files in a memory-backed folder (never
 * a command line, where other processes could read them).
 */
export const SECRET_GENERATOR_SCRIPT = String.raw`set -euo pipefail
umask 077
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
kubectl get secret "$SECRET_NAME" -n "$NAMESPACE" -o json > "$work/secret.json"
# The stored values, decoded.
jq -c '.data // {} | map_values(@base64d)' "$work/secret.json" > "$work/values.json"
added=""
for key in $GENERATED_KEYS; do
  if [ "$(jq --arg k "$key" 'has($k)' "$work/values.json")" = "true" ]; then
    continue
  fi
  # A CSPRNG, filtered to the URL-safe alphabet the program uses; no pipe is cut short.
  head -c 4096 /dev/urandom | LC_ALL=C tr -dc 'A-Za-z0-9' > "$work/pool"
  head -c "$LENGTH" "$work/pool" > "$work/random"
  if [ "$(wc -c < "$work/random")" -ne "$LENGTH" ]; then
    echo "not enough random characters for $key" >&2
    exit 1
  fi
  jq -c --arg k "$key" --rawfile v "$work/random" '. + {($k): $v}' "$work/values.json" > "$work/next.json"
  mv "$work/next.json" "$work/values.json"
  added="$added $key"
done
# Derived keys: filled when missing, and recomputed when a key they read was just generated.
jq -c --argjson derived "$DERIVED" --arg added "$added" '
  ($added | split(" ") | map(select(. != ""))) as $new
  | reduce ($derived | to_entries[]) as $d (.;
      . as $v
      | ([$d.value.template | scan("\\{\\{([A-Za-z0-9_.-]+)\\}\\}") | .[0]]) as $reads
      | if has($d.key) and ([$reads[] | select(. as $r | $new | index($r))] | length) == 0 then .
        else .[$d.key] = ($d.value.template
          | gsub("\\{\\{(?<k>[A-Za-z0-9_.-]+)\\}\\}"; $v[.k] // error("derived key \($d.key): no value for \(.k)"))
          | if $d.value.encoding == "base64" then @base64 else . end)
        end)' "$work/values.json" > "$work/next.json"
mv "$work/next.json" "$work/values.json"
if jq -e --slurpfile stored "$work/secret.json" '. == ($stored[0].data // {} | map_values(@base64d))' "$work/values.json" > /dev/null; then
  echo "secret $NAMESPACE/$SECRET_NAME: every key present, nothing to do"
  exit 0
fi
jq -c '{data: map_values(@base64)}' "$work/values.json" > "$work/patch.json"
kubectl patch secret "$SECRET_NAME" -n "$NAMESPACE" --type merge --patch-file "$work/patch.json" > /dev/null
[ -n "$added" ] || added=" none"
echo "secret $NAMESPACE/$SECRET_NAME: filled (generated:$added; derived keys computed where missing)"
`;

/** What differs between the kubectl Jobs (this generator, secret-copy.ts): the rest of their pod is the same. */
export interface KubectlJobPod {
    labels: Record<string, string>;
    serviceAccountName: string;
    containerName: string;
    /** The bash program the container runs (`bash -c`). */
    script: string;
    /** The program's environment, by name. */
    env: pulumi.Input<Record<string, string>>;
}

/**
 * The pod template of a Job that runs a bash program with kubectl (the
 * generator's image) against the API server only: non-root, read-only root
 * filesystem, no capabilities, no mesh sidecar, and a memory-backed `/tmp`
 * (its HOME and work folder) so that the values it handles never reach a disk.
 */
export function kubectlJobPodTemplate(pod: KubectlJobPod): k8s.types.input.core.v1.PodTemplateSpec {
    return {
        metadata: {
            labels: pod.labels,
            // A sidecar would keep the Job from ever completing; it only talks to the API server.
            annotations: { "sidecar.istio.io/inject": "false" },
        },
        spec: {
            serviceAccountName: pod.serviceAccountName,
            restartPolicy: "OnFailure",
            securityContext: { runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532, seccompProfile: { type: "RuntimeDefault" } },
            containers: [
                {
                    name: pod.containerName,
                    image: SECRET_GENERATOR_IMAGE,
                    command: ["bash", "-c", pod.script],
                    env: pulumi.output(pod.env).apply((env) => Object.entries(env).map(([name, value]) => ({ name, value }))),
                    resources: { requests: { cpu: "10m", memory: "64Mi" }, limits: { memory: "128Mi" } },
                    securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } },
                    volumeMounts: [{ name: "work", mountPath: "/tmp" }],
                },
            ],
            // Memory-backed: the values never reach a disk.
            volumes: [{ name: "work", emptyDir: { medium: "Memory", sizeLimit: "1Mi" } }],
        },
    };
}

export interface SecretGeneratorArgs {
    namespace: pulumi.Input<string>;
    secretName: string;
    generatedKeys: string[];
    derived: Record<string, DerivedValue>;
    length: number;
    labels: Record<string, string>;
    provider: k8s.Provider;
}

/** The environment the Job's program reads (see SECRET_GENERATOR_SCRIPT). */
export function secretGeneratorEnv(args: Pick<SecretGeneratorArgs, "secretName" | "generatedKeys" | "derived" | "length">, namespace: string): Record<string, string> {
    return {
        NAMESPACE: namespace,
        SECRET_NAME: args.secretName,
        GENERATED_KEYS: args.generatedKeys.join(" "),
        LENGTH: String(args.length),
        DERIVED: JSON.stringify(args.derived),
        // kubectl keeps its discovery cache under $HOME; the root filesystem is read-only.
        HOME: "/tmp",
    };
}

/**
 * The ServiceAccount, Role, RoleBinding and Job that fill one rendered Secret
 * in the cluster. Objects are children of `parent` (the GeneratedSecret).
 */
export function secretGeneratorObjects(name: string, args: SecretGeneratorArgs, opts: pulumi.CustomResourceOptions): k8s.batch.v1.Job {
    const objectName = generatorName(args.secretName);
    const labels = { ...args.labels, "app.kubernetes.io/name": "secret-generator", "app.kubernetes.io/instance": objectName };
    const childOpts = { ...opts, provider: args.provider };
    const account = new k8s.core.v1.ServiceAccount(`${name}-generator`, { metadata: { name: objectName, namespace: args.namespace, labels } }, childOpts);
    const role = new k8s.rbac.v1.Role(
        `${name}-generator`,
        {
            metadata: { name: objectName, namespace: args.namespace, labels },
            // This one Secret, read and patched: nothing else.
            rules: [{ apiGroups: [""], resources: ["secrets"], resourceNames: [args.secretName], verbs: ["get", "patch"] }],
        },
        childOpts,
    );
    const binding = new k8s.rbac.v1.RoleBinding(
        `${name}-generator`,
        {
            metadata: { name: objectName, namespace: args.namespace, labels },
            roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: objectName },
            subjects: [{ kind: "ServiceAccount", name: objectName, namespace: args.namespace }],
        },
        childOpts,
    );
    return new k8s.batch.v1.Job(
        `${name}-generator`,
        {
            metadata: { name: objectName, namespace: args.namespace, labels },
            spec: {
                backoffLimit: 6,
                template: kubectlJobPodTemplate({
                    labels,
                    serviceAccountName: objectName,
                    containerName: "generate",
                    script: SECRET_GENERATOR_SCRIPT,
                    env: pulumi.output(args.namespace).apply((ns) => secretGeneratorEnv(args, ns)),
                }),
            },
        },
        { ...childOpts, dependsOn: [account, role, binding] },
    );
}
