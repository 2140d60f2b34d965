// One cold evaluation of the local environment under Pulumi's mocks; prints JSON.
import * as pulumi from "@pulumi/pulumi";

const start = process.hrtime.bigint();

async function main(): Promise<void> {
    pulumi.runtime.setAllConfig({
        "platform:template": "local",
        "platform:description": "bench",
        "platform:owner": "bench@example.com",
        "platform:costCenter": "PLT-0001",
        "platform:repository": "platform-gitops",
        "platform:kubernetesTarget": "render",
    });
    await pulumi.runtime.setMocks(
        {
            newResource: (args) => ({ id: `${args.name}-id`, state: args.inputs as Record<string, unknown> }),
            call: (args) => args.inputs as Record<string, unknown>,
        },
        "platform",
        "local",
    );
    const { runEnvironment } = await import("../environments");
    const outputs = await runEnvironment();
    await new Promise<void>((resolve) => outputs.environment.apply(() => resolve()));
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    console.log(JSON.stringify({ ms, rssMiB: process.memoryUsage().rss / 1024 / 1024 }));
}

void main();
