/**
 * Shared Pulumi mock helper: records every resource a test registers so tests
 * can assert on types, names, inputs and providers. Import program modules
 * only after `setupMocks` has run (Pulumi reads config at construction).
 */
import * as pulumi from "@pulumi/pulumi";

export interface RecordedResource {
    type: string;
    name: string;
    // Resource inputs are untyped at the RPC boundary.
    inputs: Record<string, unknown>;
    provider?: string;
    custom: boolean;
    /** Whether it was registered with `protect: true`. */
    protect: boolean;
    /** The URNs it was registered as depending on (`dependsOn`, resolved to resources). */
    dependencies: string[];
}

/** The part of a RegisterResource request the helper reads. */
interface RegisterRequest {
    getType(): string;
    getName(): string;
    getProtect(): boolean | undefined;
    getDependenciesList(): string[];
}
interface PatchableMonitor {
    registerResource(req: RegisterRequest, callback: unknown): unknown;
}

export interface MockSession {
    resources: RecordedResource[];
    /** Every recorded resource of a type token. */
    ofType(type: string): RecordedResource[];
    /** The one recorded resource with this type and name; throws if absent. */
    get(type: string, name: string): RecordedResource;
    /** Forget what was recorded (between tests). */
    reset(): void;
}

export interface MockOptions {
    project?: string;
    stack?: string;
    /** Stack config as `namespace:key` → value. */
    config?: Record<string, string>;
    preview?: boolean;
    /**
     * Results of provider functions (invokes) by token, e.g.
     * `aws:index/getAvailabilityZones:getAvailabilityZones`. Unlisted tokens
     * echo their inputs.
     */
    calls?: Record<string, (inputs: Record<string, unknown>) => Record<string, unknown>>;
    /** Extra output state for new resources by type token (e.g. ids the cloud assigns). */
    state?: Record<string, (inputs: Record<string, unknown>, name: string) => Record<string, unknown>>;
}

export async function setupMocks(options: MockOptions = {}): Promise<MockSession> {
    const resources: RecordedResource[] = [];
    // The mocks API does not pass `protect` or the dependencies to newResource; read them off the request.
    const protections = new Map<string, boolean>();
    const dependencies = new Map<string, string[]>();
    pulumi.runtime.setAllConfig(options.config ?? {});
    await pulumi.runtime.setMocks(
        {
            newResource(args: pulumi.runtime.MockResourceArgs): pulumi.runtime.MockResourceResult {
                resources.push({
                    type: args.type,
                    name: args.name,
                    inputs: args.inputs as Record<string, unknown>,
                    provider: args.provider,
                    custom: args.custom ?? true,
                    protect: protections.get(`${args.type}::${args.name}`) ?? false,
                    dependencies: dependencies.get(`${args.type}::${args.name}`) ?? [],
                });
                const inputs = args.inputs as Record<string, unknown>;
                const extra = options.state?.[args.type]?.(inputs, args.name) ?? {};
                return { id: `${args.name}-id`, state: { ...inputs, ...extra } };
            },
            call(args: pulumi.runtime.MockCallArgs): Record<string, unknown> {
                const inputs = args.inputs as Record<string, unknown>;
                const result = options.calls?.[args.token];
                return result ? result(inputs) : inputs;
            },
        },
        options.project ?? "platform",
        options.stack ?? "test",
        options.preview ?? false,
    );
    const monitor = pulumi.runtime.getMonitor() as unknown as PatchableMonitor;
    const register = monitor.registerResource.bind(monitor);
    monitor.registerResource = (req, callback) => {
        protections.set(`${req.getType()}::${req.getName()}`, req.getProtect() === true);
        dependencies.set(`${req.getType()}::${req.getName()}`, req.getDependenciesList());
        return register(req, callback);
    };
    return {
        resources,
        ofType: (type) => resources.filter((r) => r.type === type),
        get(type, name) {
            const found = resources.find((r) => r.type === type && r.name === name);
            if (!found) {
                const names = resources.filter((r) => r.type === type).map((r) => r.name);
                throw new Error(`no ${type} named ${name}; recorded: ${names.join(", ") || "none"}`);
            }
            return found;
        },
        reset: () => {
            resources.length = 0;
        },
    };
}

/** Resolves an Output's value in a test (secrets included). */
export function valueOf<T>(output: pulumi.Output<T>): Promise<T> {
    return new Promise((resolve) => output.apply((v) => resolve(v)));
}

/** Whether an Output is marked secret. */
export function isSecret<T>(output: pulumi.Output<T>): Promise<boolean> {
    return pulumi.isSecret(output);
}

/** Waits until no new registration has reached the mock monitor for a few ticks. */
export async function settle(session: MockSession): Promise<void> {
    let last = -1;
    let stableTicks = 0;
    while (stableTicks < 3) {
        await new Promise((r) => setTimeout(r, 20));
        stableTicks = session.resources.length === last ? stableTicks + 1 : 0;
        last = session.resources.length;
    }
}

const SECRET_SIG = "4dabf18193072939515e22adb298388d";

/** Whether a recorded input is a secret (the runtime wraps secrets in a signature object). */
export function isSecretInput(value: unknown): boolean {
    return typeof value === "object" && value !== null && SECRET_SIG in value;
}

/** A recorded input with its secret wrapper removed. */
export function unwrapSecret<T>(value: unknown): T {
    return (isSecretInput(value) ? (value as { value: unknown }).value : value) as T;
}
