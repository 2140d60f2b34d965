// Runs policies against resources as the engine would hand them over, and
// returns the violation messages.
import {
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
} from "@pulumi/policy";

const DEFAULT_OPTS: PolicyResourceOptions = {
    protect: false,
    ignoreChanges: [],
    aliases: [],
    customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
    additionalSecretOutputs: [],
};

export interface ValidationOptions {
    /** Stack name in the URN. Default: `test`. */
    stack?: string;
    /** The policy's config, as `--policy-pack-config` would give it. Default: none (the policy's defaults). */
    config?: Record<string, unknown>;
    /** Whether the resource is registered with protect. Default: false. */
    protect?: boolean;
}

/** The args the engine gives a resource policy. */
export function resourceArgs(type: string, props: Record<string, unknown>, name = "subject", options: ValidationOptions = {}): ResourceValidationArgs {
    return {
        type,
        props,
        urn: `urn:pulumi:${options.stack ?? "test"}::platform::${type}::${name}`,
        name,
        opts: { ...DEFAULT_OPTS, protect: options.protect ?? false },
        stackTags: new Map(),
        isType: () => false,
        asType: () => undefined,
        getConfig: <T>() => (options.config ?? {}) as T,
        notApplicable: () => undefined as never,
    } as ResourceValidationArgs;
}

export async function violationsOf(
    policy: ResourceValidationPolicy,
    type: string,
    props: Record<string, unknown>,
    name = "subject",
    options: ValidationOptions = {},
): Promise<string[]> {
    const violations: string[] = [];
    const validate = policy.validateResource;
    if (!validate) {
        return violations;
    }
    const args = resourceArgs(type, props, name, options);
    for (const v of Array.isArray(validate) ? validate : [validate]) {
        await v(args, (message) => violations.push(message));
    }
    return violations;
}

/** A resource as a stack policy sees it. */
export interface StackResource {
    type: string;
    name: string;
    props: Record<string, unknown>;
    protect?: boolean;
}

export async function stackViolationsOf(
    policy: StackValidationPolicy,
    resources: StackResource[],
    options: Omit<ValidationOptions, "protect"> = {},
): Promise<string[]> {
    const violations: string[] = [];
    const policyResources = resources.map(
        (r) =>
            ({
                type: r.type,
                name: r.name,
                props: r.props,
                urn: `urn:pulumi:${options.stack ?? "test"}::platform::${r.type}::${r.name}`,
                opts: { ...DEFAULT_OPTS, protect: r.protect ?? false },
                dependencies: [],
                propertyDependencies: {},
                isType: () => false,
                asType: () => undefined,
            }) as unknown as PolicyResource,
    );
    const args = {
        resources: policyResources,
        stackTags: new Map(),
        getConfig: <T>() => (options.config ?? {}) as T,
    } as unknown as StackValidationArgs;
    await policy.validateStack(args, (message) => violations.push(message));
    return violations;
}
