/**
 * One cold evaluation of an environment under Pulumi's mocks; prints JSON.
 * Usage: mock-evaluation.ts <local|dev-aws|dev-azure|prod-aws|prod-azure> [submodules|root]
 *
 * `root` first loads the root packages of the SDKs the environment's code
 * imports by submodule (what `import * as aws from "@pulumi/aws"` and friends
 * would load: the Vault and Consul SDKs for every environment, because root
 * imports are static, plus the cloud's SDK and random for cloud templates),
 * then runs the same program: the difference is the price of root imports.
 */
import * as pulumi from "@pulumi/pulumi";

import { defaultTestChartMirror } from "../test/helpers/real-charts";
import { AWS_MOCKS, AZURE_MOCKS } from "../test/helpers/cloud-mocks";
import { cloudConfig } from "../test/helpers/cloud-environment";
import { MockOptions } from "../test/helpers/mocks";

const start = process.hrtime.bigint();
const [environment = "local", imports = "submodules"] = process.argv.slice(2);

async function main(): Promise<void> {
    const mirror = defaultTestChartMirror();
    const [template, cloud] = environment.split("-") as [string, "aws" | "azure" | undefined];
    const config =
        template === "local"
            ? {
                  "platform:template": "local",
                  "platform:description": "bench",
                  "platform:owner": "bench@example.com",
                  "platform:costCenter": "PLT-0001",
                  "platform:repository": "platform-gitops",
                  "platform:kubernetesTarget": "render",
                  "platform:chartMirror": mirror,
              }
            : cloudConfig(template, cloud!, { "platform:chartMirror": mirror });
    const cloudMocks: Pick<MockOptions, "calls" | "state"> = cloud === "aws" ? AWS_MOCKS : cloud === "azure" ? AZURE_MOCKS : {};
    if (imports === "root") {
        await import("@pulumi/vault");
        await import("@pulumi/consul");
        if (cloud) {
            await import(cloud === "azure" ? "@pulumi/azure-native" : "@pulumi/aws");
            await import("@pulumi/random");
        }
    }
    pulumi.runtime.setAllConfig(config);
    await pulumi.runtime.setMocks(
        {
            newResource: (args) => ({
                id: `${args.name}-id`,
                state: { ...(args.inputs as Record<string, unknown>), ...(cloudMocks.state?.[args.type]?.(args.inputs, args.name) ?? {}) },
            }),
            call: (args) => cloudMocks.calls?.[args.token]?.(args.inputs) ?? (args.inputs as Record<string, unknown>),
        },
        "platform",
        template,
    );
    const { runEnvironment } = await import("../environments");
    const outputs = await runEnvironment();
    await new Promise<void>((resolve) => outputs!.environment.apply(() => resolve()));
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    const modules = Object.keys(require.cache).length;
    console.log(JSON.stringify({ ms, rssMiB: process.memoryUsage().rss / 1024 / 1024, modules }));
    // The mock runtime keeps handles open; the figure is taken, leave now.
    process.exit(0);
}

void main();
