/**
 * The commands the manager takes over RabbitMQ, and the notifications it
 * sends back: one zod schema each, used by the consumer to validate, by the
 * REST API to describe them, and by the OpenAPI document.
 *
 * Wire format: a JSON body, `content_type: application/json`, the command id
 * also as the AMQP `message_id`, and W3C trace context in the `traceparent`
 * header (the mesh cannot trace messages on the bus).
 */
import { z } from "zod";

import { ENVIRONMENT_STATUSES } from "../../../environments/record";

export const COMMAND_TYPES = ["environment.create", "environment.update", "environment.extend", "environment.destroy"] as const;
export type CommandType = (typeof COMMAND_TYPES)[number];

/** An environment name as the templates make them: lower-case words joined by dashes (the template decides the stem). */
const environmentName = z
    .string()
    .min(1)
    .max(63)
    .regex(/^[a-z][a-z0-9-]*[a-z0-9]$/, "lower-case letters, digits and dashes, starting with a letter (at most 63)");

/** A calendar date, as platform:plannedDestruction takes it. */
const isoDate = z.iso.date();

/**
 * Template parameters: platform:<key> config values. Only the keys a template
 * takes are accepted (checked by the command policy against the template's
 * parameter schema); values are plain scalars, never secrets.
 */
const parameters = z.record(z.string().regex(/^[a-zA-Z][a-zA-Z0-9]*$/), z.union([z.string().max(1024), z.number(), z.boolean()]));

const envelope = {
    /** A UUID chosen by the sender; a redelivered or resent command with the same id never runs twice. */
    commandId: z.uuid(),
    environment: environmentName,
    /** Who asked (a user or a service); audit-logged. Set by the sender, checked against the token on the REST path. */
    requestedBy: z.string().min(1).max(256),
    requestedAt: z.iso.datetime({ offset: true }).optional(),
};

export const createCommand = z
    .object({
        ...envelope,
        type: z.literal("environment.create"),
        template: z.string().min(1),
        description: z.string().min(1).max(512),
        owner: z.email(),
        costCenter: z.string().regex(/^[A-Z]{2,5}-[0-9]{3,6}$/, "like PLT-0001"),
        plannedDestruction: isoDate,
        parameters: parameters.optional(),
    })
    .strict();

export const updateCommand = z
    .object({
        ...envelope,
        type: z.literal("environment.update"),
        description: z.string().min(1).max(512).optional(),
        parameters: parameters.optional(),
    })
    .strict();

export const extendCommand = z
    .object({
        ...envelope,
        type: z.literal("environment.extend"),
        plannedDestruction: isoDate,
    })
    .strict();

export const destroyCommand = z
    .object({
        ...envelope,
        type: z.literal("environment.destroy"),
    })
    .strict();

export const command = z.discriminatedUnion("type", [createCommand, updateCommand, extendCommand, destroyCommand]);
export type Command = z.infer<typeof command>;
export type CreateCommand = z.infer<typeof createCommand>;
export type UpdateCommand = z.infer<typeof updateCommand>;
export type ExtendCommand = z.infer<typeof extendCommand>;
export type DestroyCommand = z.infer<typeof destroyCommand>;

export type EnvironmentStatus = (typeof ENVIRONMENT_STATUSES)[number];

/** Where a command is: accepted (recorded, waiting for its environment), running, then one outcome. */
export const COMMAND_STATES = ["accepted", "running", "succeeded", "failed", "rejected", "abandoned"] as const;
export type CommandState = (typeof COMMAND_STATES)[number];

export const NOTIFICATION_TYPES = [
    "command.accepted",
    "command.rejected",
    "command.completed",
    "command.failed",
    "environment.status",
    "environment.progress",
    "environment.drift",
] as const;
export type NotificationType = (typeof NOTIFICATION_TYPES)[number];

export const driftedResource = z.object({
    urn: z.string(),
    type: z.string(),
    name: z.string(),
    change: z.enum(["changed", "deleted"]),
    paths: z.array(z.string()),
});

export const driftCheck = z.object({
    checkedAt: z.iso.datetime({ offset: true }),
    state: z.enum(["clean", "drifted", "unchecked", "error"]),
    resources: z.array(driftedResource),
    reason: z.string().optional(),
    failedAt: z.iso.datetime({ offset: true }).optional(),
});

export const notification = z.object({
    /** A UUID (also the AMQP message id) for consumers' de-duplication. */
    id: z.uuid(),
    type: z.enum(NOTIFICATION_TYPES),
    occurredAt: z.iso.datetime({ offset: true }),
    /** The command this notification is about, when there is one. */
    commandId: z.string().optional(),
    environment: z.string().optional(),
    status: z.enum(ENVIRONMENT_STATUSES).optional(),
    /** Resources done of total, during long runs. */
    progress: z.object({ done: z.number().int().nonnegative(), total: z.number().int().nonnegative() }).optional(),
    /** Why a command was rejected or failed; never a secret. */
    reason: z.string().optional(),
    /** The environment record after a completed command (the stack's `environment` output). */
    record: z.unknown().optional(),
    /** A drift check's result (environment.drift): property paths only, never values. */
    drift: driftCheck.optional(),
});
export type Notification = z.infer<typeof notification>;

/** A zod error as one line naming each field: `owner: Invalid email address; plannedDestruction: ...`. */
export function describeIssues(error: z.ZodError): string {
    return error.issues.map((i) => `${i.path.length ? i.path.join(".") : "(body)"}: ${i.message}`).join("; ");
}
