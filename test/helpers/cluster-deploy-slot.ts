/**
 * One whole-platform apply on a throwaway API server at a time, across the
 * test run's workers (test/helpers/sequencer.ts says why). The slot is a
 * directory made atomically beside the run, keyed by the vitest process that
 * started the workers, so a run that was killed leaves nothing that blocks
 * the next one.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

/** How long a file waits for the other one: both together take about 20 minutes on 2 cores. */
export const CLUSTER_DEPLOY_SLOT_WAIT_MS = 1_800_000;

/** The run's slot: the workers' parent is the vitest process that started them. */
export const runSlotDir = () => path.join(os.tmpdir(), `platform-cluster-deploy-slot-${process.ppid}`);

function readHolder(dir: string): { pid: number; name: string } | undefined {
    try {
        const [pid, ...name] = fs.readFileSync(path.join(dir, "holder"), "utf8").trim().split(" ");
        return { pid: Number(pid), name: name.join(" ") };
    } catch {
        return undefined; // just made, not yet written
    }
}

function alive(pid: number): boolean {
    try {
        process.kill(pid, 0);
        return true;
    } catch (error) {
        return (error as NodeJS.ErrnoException).code !== "ESRCH";
    }
}

/** Waits for the slot and takes it; the returned function gives it back. */
export async function clusterDeploySlot(holder: string, dir = runSlotDir()): Promise<() => void> {
    const deadline = Date.now() + CLUSTER_DEPLOY_SLOT_WAIT_MS;
    let waitedFrom: number | undefined;
    for (;;) {
        try {
            fs.mkdirSync(dir);
            fs.writeFileSync(path.join(dir, "holder"), `${process.pid} ${holder}\n`);
            break;
        } catch (error) {
            if ((error as NodeJS.ErrnoException).code !== "EEXIST") {
                throw error;
            }
            waitedFrom ??= Date.now();
            const other = readHolder(dir);
            if (other !== undefined && !alive(other.pid)) {
                // Its file's process died without giving the slot back.
                fs.rmSync(dir, { recursive: true, force: true });
                continue;
            }
            if (Date.now() > deadline) {
                throw new Error(`${holder}: the cluster deploy slot (${dir}) is still held by ${other?.name ?? "another file"} after ${CLUSTER_DEPLOY_SLOT_WAIT_MS / 1000} s`);
            }
            await new Promise((r) => setTimeout(r, 1000));
        }
    }
    if (waitedFrom !== undefined) {
        console.log(`[figure] ${holder}: waited ${Math.round((Date.now() - waitedFrom) / 1000)} s for the cluster deploy slot`);
    }
    return () => fs.rmSync(dir, { recursive: true, force: true });
}
