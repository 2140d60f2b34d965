/**
 * Commands for the manager's tests, shared by the unit tests (manager/src)
 * and the engine tests (manager/test).
 */
import { randomUUID } from "node:crypto";

import type { Command } from "../../src/commands/schema";

/** A calendar date `days` from today (UTC), as plannedDestruction takes it. */
export function inDays(days: number): string {
    return new Date(Date.now() + days * 86_400_000).toISOString().slice(0, 10);
}

/**
 * A valid environment.create of a review environment with a new command id,
 * one the command policy accepts (planned destruction a week away); `overrides`
 * replace any field (even the type).
 */
export function newCreateCommand(environment = "review-1", overrides: Partial<Command> = {}): Command {
    return {
        commandId: randomUUID(),
        type: "environment.create",
        environment,
        requestedBy: "alice@example.com",
        template: "review",
        description: "a review environment",
        owner: "alice@example.com",
        costCenter: "PLT-0001",
        plannedDestruction: inDays(7),
        ...overrides,
    } as Command;
}

/** The notifications of a create that succeeds on the stand-in executor with 2 steps, in order (as the runner's tests name them). */
export const CREATE_NOTIFICATION_STEPS = [
    "command.accepted",
    "status:deploying",
    "environment.progress",
    "environment.progress",
    "status:deployed-validating",
    "status:deployed-ok",
    "command.completed",
] as const;
