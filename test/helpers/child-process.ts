import { ChildProcess } from "node:child_process";

/**
 * Ties a test's background server to the test process: killed if the
 * process exits first, and stopped (SIGTERM, then SIGKILL after 10 s) by the
 * returned function.
 */
export function stopWithProcess(child: ChildProcess): () => Promise<void> {
    const killOnExit = () => child.kill("SIGKILL");
    process.once("exit", killOnExit);
    return async () => {
        process.removeListener("exit", killOnExit);
        if (child.exitCode !== null || child.signalCode !== null) {
            return;
        }
        const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
        await exited;
        clearTimeout(timer);
    };
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Resolves true once the child has exited, false when `timeoutMs` passes first. */
export function exited(child: ChildProcess, timeoutMs: number): Promise<boolean> {
    if (child.exitCode !== null || child.signalCode !== null) {
        return Promise.resolve(true);
    }
    return new Promise((resolve) => {
        const timer = setTimeout(() => resolve(false), timeoutMs);
        child.once("exit", () => {
            clearTimeout(timer);
            resolve(true);
        });
    });
}

/** SIGKILLs a detached child's whole process group: servers whose start scripts fork (erl, the postmaster's backends) leave no orphans. */
export function killGroup(child: ChildProcess): void {
    if (child.pid === undefined) {
        return;
    }
    try {
        process.kill(-child.pid, "SIGKILL");
    } catch {
        // already gone
    }
}

/** Keeps the last few KiB of a server's output, for error messages. */
export function tailBuffer(limit = 8192): { push(chunk: Buffer): void; text(): string } {
    let text = "";
    return {
        push(chunk) {
            text = (text + chunk.toString("utf8")).slice(-limit);
        },
        text: () => text,
    };
}
