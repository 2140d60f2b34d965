/**
 * `platform-manager`: the environment manager's command line.
 *
 *   platform-manager server [--primary] --amqp-url-file F [--amqp-password-file F] --token-secret-file F ...
 *
 * Bad settings exit 2 naming the setting before anything connects; a failure
 * at run time exits 1. SIGTERM and SIGINT stop it gracefully (service.ts).
 */
import * as path from "node:path";
import { Command, Option } from "commander";

import { ConfigError, managerConfig, ServerOptions } from "./config";
import { runService } from "./service";

const REPO_ROOT = path.resolve(__dirname, "..", "..");

function fail(message: string, code: number): never {
    process.stderr.write(`[platform-manager] error: ${message}\n`);
    process.exit(code);
}

const program = new Command("platform-manager")
    .description("creates and destroys self-service environments on commands over RabbitMQ, and answers on a REST API (/api/v1)")
    .showHelpAfterError()
    .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 2));

program
    .command("server")
    .description("run the service: consume commands (--primary), serve the API, keep the read model")
    .option("--primary", "execute commands; without it, a secondary: reads only, fed by the primary's notifications")
    .option("--listen <host:port>", "the API's address", "0.0.0.0:8080")
    .requiredOption("--amqp-url-file <file>", "file holding the broker URL with its credentials (a mounted secret)")
    .option("--amqp-password-file <file>", "file holding the broker password, put into the --amqp-url-file URL (which then has a user and no password)")
    .addOption(new Option("--database-url-file <file>", "file holding the Postgres server URL (a mounted secret)").conflicts("embeddedDatabase"))
    .addOption(new Option("--database-password-file <file>", "file holding the password, put into the --database-url-file URL (which then has none)").conflicts("embeddedDatabase"))
    .option("--embedded-database <dir|memory>", "run the embedded Postgres with its data in <dir> (the default: ~/.platform-manager/db)")
    .option("--project-dir <dir>", "the checkout of this repository whose program it runs", REPO_ROOT)
    .option("--stack-defaults <file>", "JSON object of platform settings every environment it creates gets (kubeContext, chartMirror, ...)")
    .option("--repository <name>", "platform:repository of the environments it creates", "platform-gitops")
    .option("--concurrency <n>", "commands executed at once", "2")
    .option("--token-secret-file <file>", "HS256 key that API bearer tokens are signed with (a mounted secret)")
    .option("--jwks-file <file>", "JSON Web Key Set that API bearer tokens are verified with")
    .option("--issuer <iss>", "the tokens' issuer", "platform")
    .option("--audience <aud>", "the tokens' audience", "platform-manager")
    .option("--lease-namespace <ns>", "elect one leader among replicas with a Kubernetes Lease in this namespace")
    .option("--lease-name <name>", "the Lease's name")
    .option("--kubeconfig <file>", "kubeconfig of the Lease's cluster (default: in-cluster)")
    .option("--reconcile-seconds <n>", "seconds between reconciles of the read model with the state backend", "300")
    .option("--drift-check-seconds <n>", "seconds between drift checks of the deployed environments (refresh --preview-only each); 0: none", "3600")
    .action(async (options: ServerOptions) => {
        let config;
        try {
            config = managerConfig(options, REPO_ROOT);
        } catch (e) {
            if (e instanceof ConfigError) {
                fail(e.message, 2);
            }
            throw e;
        }
        await runService(config);
    });

program.parseAsync(process.argv).catch((e: unknown) => fail(e instanceof Error ? e.message : String(e), 1));
