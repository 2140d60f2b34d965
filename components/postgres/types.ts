import * as pulumi from "@pulumi/pulumi";

import { RecordSource } from "../shared/records";

/**
 * What every Postgres implementation (in-cluster CloudNativePG, Azure
 * Flexible Server, Amazon RDS) gives the rest of the platform: where to
 * connect, and an administrative login for the Vault database secrets engine.
 */
export interface PostgresServer extends RecordSource {
    /** Private host name clients connect to. */
    readonly host: pulumi.Output<string>;
    /** TCP port (5432 unless the implementation says otherwise). */
    readonly port: pulumi.Output<number>;
    /** Name of the application database created with the server. */
    readonly databaseName: pulumi.Output<string>;
    /** Administrative user Vault uses to issue per-service credentials. */
    readonly adminUsername: pulumi.Output<string>;
    /** That user's password; always a secret output. */
    readonly adminPassword: pulumi.Output<string>;
    /** Whether connections must use TLS (`sslmode=require` or stricter). */
    readonly requireTls: boolean;
}

/** Postgres major versions the platform supports on every implementation. */
export const POSTGRES_MAJOR_VERSIONS = ["16", "17"] as const;
export type PostgresMajorVersion = (typeof POSTGRES_MAJOR_VERSIONS)[number];
