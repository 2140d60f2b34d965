/**
 * The pulumi subcommands `./platform pulumi` refuses: each changes a stack's
 * resources, or which resources its state says it owns, without the rules
 * ./platform's own commands apply (policy pack, destroy guard, change event,
 * which stacks a command may create).
 *
 *   up/update, watch      deploy without the policy pack and the change event
 *   destroy/down/dn       deletes up to the first protected resource (no guard)
 *   refresh               rewrites the state; ./platform refresh never creates a stack
 *   import                adopts resources into the state, no policy pack
 *     (refresh, import and destroy with --preview-only change nothing: allowed)
 *   state delete, edit, move, rename, repair
 *                         hand edits of which resources a stack owns and how
 *                         they depend on each other: the next up creates,
 *                         adopts or deletes what no reviewed change declared
 *   state unprotect       lifts the protection that stops an up or a destroy
 *                         from deleting a resource (prod's databases, CRDs)
 *
 * Allowed, as they change no resource and no ownership: preview, cancel,
 * config, stack (select, ls, output, history, export, rm,
 * change-secrets-provider…), state protect, taint, untaint, state upgrade,
 * and every read-only command.
 *
 * The command is found as the CLI's parser (cobra's stripFlags) finds it, so
 * no flag placement hides one: a flag without "=", other than a boolean one,
 * takes the next word as its value; a group of short flags (-ey) never does.
 */

const words = (text: string) => new Set(text.trim().split(/\s+/));

/** pulumi's root boolean flags (3.248). */
const ROOT_BOOLEANS = words("--disable-integrity-checking --emoji -e --fully-qualify-stack-names -Q --help -h --logflow --logtostderr --non-interactive");

/** Boolean flags of the commands that --preview-only makes harmless; one missing here only refuses. */
const BOOLEANS = {
    refresh: words(
        "--clear-pending-creates --config-path -d --debug --diff --exclude-dependents --expect-no-changes -h --help -j --json --neo --run-program --show-replacement-steps --show-sames --skip-pending-creates --skip-plugin-pre-install -f --skip-preview --suppress-outputs --suppress-permalink --suppress-progress --target-dependents --urns -y --yes",
    ),
    import: words("-d --debug --diff --generate-code -h --help -j --json --protect --skip-plugin-pre-install --skip-preview --suppress-outputs --suppress-permalink --suppress-progress --urns -y --yes"),
    destroy: words(
        "--config-path --continue-on-error -d --debug --diff --exclude-protected -h --help -j --json --neo -r --refresh --remove --run-program --show-config --show-full-output --show-replacement-steps --show-sames --skip-plugin-pre-install -f --skip-preview --suppress-outputs --suppress-permalink --suppress-progress --target-dependents --urns -y --yes",
    ),
};

const isLongOrShortFlag = (word: string) => /^(--.+|-.)$/.test(word);
const hasInlineValue = (word: string) => /^(--[^=]+|-.)=/.test(word);

/**
 * The positions of the words that are no flag and no flag's value, up to
 * `--`. cobra's stripFlags gives up where a flag would take a missing value
 * (`stopAtMissingValue`); its search for a subcommand after a group does not.
 */
function wordPositions(args: readonly string[], stopAtMissingValue: boolean): number[] {
    const found: number[] = [];
    for (let i = 0; i < args.length && args[i] !== "--"; i++) {
        const word = args[i];
        if (hasInlineValue(word)) {
            continue;
        }
        if (isLongOrShortFlag(word)) {
            if (!ROOT_BOOLEANS.has(word)) {
                if (stopAtMissingValue && i + 2 >= args.length) {
                    break;
                }
                i++;
            }
            continue;
        }
        if (!word.startsWith("-") && word !== "") {
            found.push(i);
        }
    }
    return found;
}

/** The words that are no flag and no flag's value: the command and its arguments. */
export function commandWords(args: readonly string[]): string[] {
    return wordPositions(args, true).map((i) => args[i]);
}

/**
 * Whether --preview-only is set as a flag and not some other flag's value
 * (pflag gives a flag without "=" the next word unless it is boolean).
 */
export function previewOnly(booleans: ReadonlySet<string>, args: readonly string[]): boolean {
    let previous = "";
    let set = false;
    for (const word of args) {
        if (word === "--") {
            break;
        }
        if (word === "--preview-only" || word === "--preview-only=true") {
            if (previous === "" || hasInlineValue(previous)) {
                set = true;
            } else if (isLongOrShortFlag(previous)) {
                set = ROOT_BOOLEANS.has(previous) || booleans.has(previous);
            } else {
                // a short group (-ym) may end with a flag that takes a value
                set = !previous.startsWith("-");
            }
        } else if (word.startsWith("--preview-only=")) {
            set = false;
        }
        previous = word;
    }
    return set;
}

/** The stack named by --stack/-s in pulumi arguments, if any. */
export function stackArgument(args: readonly string[]): string | undefined {
    for (let i = 0; i < args.length; i++) {
        if (args[i].startsWith("--stack=")) {
            return args[i].slice("--stack=".length);
        }
        if (args[i] === "--stack" || args[i] === "-s") {
            return args[i + 1] ?? "";
        }
    }
    return undefined;
}

/** The arguments without the word "state" that cobra found the command group by (it looks again without it). */
function withoutStateWord(args: readonly string[]): string[] {
    const state = wordPositions(args, false).find((i) => args[i] === "state");
    return state === undefined ? [...args] : [...args.slice(0, state), ...args.slice(state + 1)];
}

/** Why `pulumi <args>` is refused, with what to use instead; undefined when it is allowed. */
export function pulumiRefusal(args: readonly string[]): string | undefined {
    const first = commandWords(args)[0] ?? "";
    const second = first === "state" ? (commandWords(withoutStateWord(args))[0] ?? "") : "";
    const stack = stackArgument(args) || "<stack>";
    const command = `pulumi ${first}${second ? ` ${second}` : ""}`;
    switch (first === "state" ? `state ${second}` : first) {
        case "up":
        case "update":
        case "watch":
            return `${command} deploys without the policy pack and the change event; use ./platform up ${stack}`;
        case "destroy":
        case "down":
        case "dn":
            return previewOnly(BOOLEANS.destroy, args) ? undefined : `${command} skips the destroy guard; use ./platform destroy ${stack} [--unprotect]`;
        case "refresh":
            return previewOnly(BOOLEANS.refresh, args)
                ? undefined
                : `${command} rewrites the state outside ./platform; use ./platform refresh ${stack} [pulumi refresh flags]`;
        case "import":
            return previewOnly(BOOLEANS.import, args)
                ? undefined
                : `${command} adopts resources without the policy pack; declare them in the program, then ./platform refresh ${stack} and ./platform up ${stack}`;
        case "state delete":
        case "state edit":
        case "state move":
        case "state rename":
        case "state repair":
            return `${command} edits which resources the stack owns by hand; change the program and use ./platform up ${stack}, or ./platform refresh ${stack}`;
        case "state unprotect":
            return `${command} lifts the protection that stops an up or a destroy from deleting; use ./platform destroy ${stack} --unprotect`;
        default:
            return undefined;
    }
}
