import { execFileSync } from "node:child_process";
import * as pulumi from "@pulumi/pulumi";

import { ResourceRecord } from "../components/shared/records";

/** Version of the record's JSON shape; bump on incompatible changes. */
export const RECORD_SCHEMA_VERSION = "1.0.0";

export const ENVIRONMENT_STATUSES = [
    "deploying",
    "deployed-validating",
    "deployed-ok",
    "deployed-fail",
    "destroying",
    "destroyed",
] as const;
export type EnvironmentStatus = (typeof ENVIRONMENT_STATUSES)[number];

export interface TemplateRef {
    name: string;
    version: string;
    commit: string;
}

export interface EnvironmentRecordInput {
    id: string;
    name: string;
    description: string;
    tags: Record<string, string>;
    createdAt: pulumi.Input<string>;
    plannedDestructionAt?: string;
    status: EnvironmentStatus;
    templates: TemplateRef[];
    resources: ResourceRecord[];
}

/** The commit the program runs from: CI's variable, else git, else "unknown". */
export function currentCommit(env: NodeJS.ProcessEnv = process.env): string {
    if (env.CI_COMMIT_SHA) {
        return env.CI_COMMIT_SHA;
    }
    try {
        return execFileSync("git", ["rev-parse", "HEAD"], { stdio: ["ignore", "pipe", "ignore"] }).toString().trim();
    } catch {
        return "unknown";
    }
}

/** Builds the environment record stack output from the components' resource records. */
export function environmentRecord(input: EnvironmentRecordInput): pulumi.Output<unknown> {
    const resources = input.resources.map((r) =>
        pulumi.all([r.count, r.status, pulumi.all(r.entrypoints), pulumi.all(r.statusEndpoints)]).apply(
            ([count, status, entrypoints, statusEndpoints]) => ({
                id: r.id,
                template: r.template,
                count,
                status,
                links: { entrypoints, statusEndpoints },
                dependsOn: r.dependsOn,
            }),
        ),
    );
    return pulumi.all([pulumi.output(input.createdAt), pulumi.all(resources)]).apply(([createdAt, records]) => ({
        schemaVersion: RECORD_SCHEMA_VERSION,
        id: input.id,
        name: input.name,
        description: input.description,
        tags: input.tags,
        createdAt,
        plannedDestructionAt: input.plannedDestructionAt ?? null,
        status: input.status,
        templates: input.templates,
        entrypoints: records.flatMap((r) => r.links.entrypoints),
        statusEndpoints: records.flatMap((r) => r.links.statusEndpoints),
        resources: records,
    }));
}
