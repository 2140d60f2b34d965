/**
 * The few logging calls the bus and the runner make: pino's logger fits
 * (`logger.warn({ commandId }, "message")`), and tests pass `silentLogger`.
 */
export interface Logger {
    info(fields: Record<string, unknown>, message: string): void;
    warn(fields: Record<string, unknown>, message: string): void;
    error(fields: Record<string, unknown>, message: string): void;
}

const ignore = (): void => undefined;

export const silentLogger: Logger = { info: ignore, warn: ignore, error: ignore };

export function messageOf(error: unknown): string {
    return error instanceof Error ? error.message : String(error);
}

/** Removes an AMQP URL's password from a message a library may have built from the URL. */
export function redactUrl(text: string, url: string): string {
    let password = "";
    try {
        password = new URL(url).password;
    } catch {
        return text.split(url).join("***");
    }
    let decoded = password;
    try {
        decoded = decodeURIComponent(password);
    } catch {
        // not percent-encoded
    }
    return [url, password, decoded].filter((s) => s.length > 0).reduce((out, secret) => out.split(secret).join("***"), text);
}
