/**
 * Publishes one environment change event to RabbitMQ (environments/events.ts).
 *
 *   tsx scripts/publish-event.ts <created|updated|destroyed> <environment> <record.json | ->
 *
 * e.g. `pulumi stack output --json environment | tsx scripts/publish-event.ts updated dev -`.
 * The broker is PLATFORM_EVENTS_URL (amqp://user:password@host:5672/vhost), the exchange
 * PLATFORM_EVENTS_EXCHANGE (default platform.environments). Without PLATFORM_EVENTS_URL
 * events are off: one line says so and the exit code is 0, so deployments never depend
 * on a broker they were not configured to use. The record is checked before anything is
 * sent (environments/events.ts, assertPublishableRecord): it must match
 * environments/record.schema.json and hold no secret or credential; a refused record is
 * reported by field path and kind of credential, never by value. Exit code 1: bad
 * arguments, a refused record, or not published.
 */
import * as fs from "node:fs";

import { brokerAddress, environmentEvent, EnvironmentEventType, publishEnvironmentEvent } from "../environments/events";

const USAGE = "usage: tsx scripts/publish-event.ts <created|updated|destroyed> <environment> <record.json file, or - for stdin>";
const KINDS = ["created", "updated", "destroyed"] as const;
type Kind = (typeof KINDS)[number];

function isKind(value: string): value is Kind {
    return (KINDS as readonly string[]).includes(value);
}

function readRecord(source: string): unknown {
    const label = source === "-" ? "stdin" : source;
    let text: string;
    try {
        text = fs.readFileSync(source === "-" ? 0 : source, "utf8");
    } catch (error) {
        throw new Error(`cannot read the record from ${label}: ${error instanceof Error ? error.message : String(error)}`);
    }
    try {
        return JSON.parse(text) as unknown;
    } catch {
        throw new Error(`the record in ${label} is not JSON (expected \`pulumi stack output --json environment\`)`);
    }
}

async function main(argv: string[], env: NodeJS.ProcessEnv): Promise<void> {
    const [kind, environment, source, ...extra] = argv;
    if (kind === undefined || environment === undefined || source === undefined || extra.length > 0) {
        throw new Error(USAGE);
    }
    if (!isKind(kind)) {
        throw new Error(`unknown event "${kind}": expected created, updated or destroyed\n${USAGE}`);
    }
    const type: EnvironmentEventType = `environment.${kind}`;
    const url = env.PLATFORM_EVENTS_URL;
    if (!url) {
        console.log(`environment events are off (PLATFORM_EVENTS_URL is not set): ${type} for ${environment} not published`);
        return;
    }
    const address = brokerAddress(url);
    const event = environmentEvent(type, environment, readRecord(source));
    await publishEnvironmentEvent(event, { url, exchange: env.PLATFORM_EVENTS_EXCHANGE || undefined });
    console.log(`published ${type} for ${environment} (id ${event.id}) to ${address}`);
}

main(process.argv.slice(2), process.env).then(
    // Exit explicitly: a half-open socket that amqplib could not close must not keep the deploy waiting.
    () => process.exit(0),
    (error: unknown) => {
        console.error(`publish-event: ${error instanceof Error ? error.message : String(error)}`);
        process.exit(1);
    },
);
