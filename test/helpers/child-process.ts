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
