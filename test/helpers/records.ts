/** An environment record as `pulumi stack output --json environment` prints it, valid against environments/record.schema.json. */
export const VALID_RECORD = {
    schemaVersion: "1.0.0",
    id: "platform/local",
    name: "local",
    description: "Developer environment",
    tags: { owner: "team@example.com", environment: "local", "cost-center": "PLT-0001", "managed-by": "pulumi", repository: "platform-gitops" },
    createdAt: "2026-11-23T10:00:00.000Z",
    plannedDestructionAt: null,
    status: "deployed-ok",
    templates: [{ name: "local", version: "0.2.0", commit: "0a7b65e1234567890abcdef1234567890abcdef1" }],
    entrypoints: ["https://platform.localtest.me", "amqp://platform-events.rabbitmq.svc.cluster.local:5672"],
    statusEndpoints: ["http://vault.vault.svc.cluster.local:8200/v1/sys/health"],
    resources: [
        {
            id: "vault",
            template: "platform:vault:VaultServer",
            count: 1,
            status: "deployed",
            links: { entrypoints: [], statusEndpoints: ["http://vault.vault.svc.cluster.local:8200/v1/sys/health"] },
            dependsOn: ["namespace/vault"],
        },
    ],
};
