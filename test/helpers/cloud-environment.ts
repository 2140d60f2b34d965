/** Runs a cloud environment (dev, staging, prod) under mocks. */
import { AWS_MOCKS, AZURE_MOCKS } from "./cloud-mocks";
import { MockSession, setupMocks, settle } from "./mocks";

export interface CloudRun {
    session: MockSession;
    outputs: Awaited<ReturnType<typeof import("../../environments").runEnvironment>>;
}

export function cloudConfig(template: string, cloud: "aws" | "azure", extra: Record<string, string> = {}): Record<string, string> {
    return {
        "platform:template": template,
        "platform:description": `${template} on ${cloud}`,
        "platform:owner": "platform-team@example.com",
        "platform:costCenter": "PLT-0001",
        "platform:repository": "gitlab.example.com/platform/platform-gitops",
        "platform:cloud": cloud,
        "platform:region": cloud === "aws" ? "eu-west-1" : "westeurope",
        "platform:clusterAdmins":
            cloud === "aws" ? "arn:aws:iam::111122223333:role/platform-admins" : "11111111-2222-3333-4444-555555555555",
        "platform:ingressDomain": `${template}.platform.example.com`,
        "platform:acmeEmail": "platform-team@example.com",
        ...extra,
    };
}

export async function runCloudEnvironment(template: string, cloud: "aws" | "azure", chartMirror: string): Promise<CloudRun> {
    const session = await setupMocks({
        stack: template,
        config: cloudConfig(template, cloud, { "platform:chartMirror": chartMirror }),
        ...(cloud === "aws" ? AWS_MOCKS : AZURE_MOCKS),
    });
    const { runEnvironment } = await import("../../environments");
    const outputs = await runEnvironment();
    await settle(session);
    return { session, outputs };
}
