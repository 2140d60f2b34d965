// Runs one resource policy against one resource's inputs and returns its violation messages.
import { PolicyResourceOptions, ResourceValidationArgs, ResourceValidationPolicy } from "@pulumi/policy";

const DEFAULT_OPTS: PolicyResourceOptions = {
    protect: false,
    ignoreChanges: [],
    aliases: [],
    customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
    additionalSecretOutputs: [],
};

export async function violationsOf(
    policy: ResourceValidationPolicy,
    type: string,
    props: Record<string, unknown>,
    name = "subject",
): Promise<string[]> {
    const violations: string[] = [];
    const args: ResourceValidationArgs = {
        type,
        props,
        urn: `urn:pulumi:test::platform::${type}::${name}`,
        name,
        opts: DEFAULT_OPTS,
        stackTags: new Map(),
        isType: () => false,
        asType: () => undefined,
        getConfig: <T>() => ({}) as T,
        notApplicable: () => undefined as never,
    } as ResourceValidationArgs;
    const validate = policy.validateResource;
    if (!validate) {
        return violations;
    }
    for (const v of Array.isArray(validate) ? validate : [validate]) {
        await v(args, (message) => violations.push(message));
    }
    return violations;
}
