import { Keys } from "@pulumi/consul/keys";
import { Node } from "@pulumi/consul/node";
import { Provider } from "@pulumi/consul/provider";
import { Service } from "@pulumi/consul/service";
import * as pulumi from "@pulumi/pulumi";

import { ComponentType, RECORD_IDS, RecordSource, ResourceRecord, resourceRecord } from "../shared/records";

/** A platform endpoint registered in Consul's catalog. */
export interface CatalogEndpoint {
    /** Service name in Consul, e.g. `rabbitmq`. */
    name: string;
    /** Host name or address clients use. */
    address: string;
    /** Port. */
    port: number;
    /** Tags for discovery queries (e.g. `amqp`, `primary`). Default: none. */
    tags?: string[];
}

export interface ConsulCatalogArgs {
    /** Consul's HTTP(S) API address, reachable from where `pulumi up` runs. */
    address: pulumi.Input<string>;
    /** ACL token allowed to write KV and the catalog (secret). Default: the provider reads CONSUL_HTTP_TOKEN. */
    token?: pulumi.Input<string>;
    /** Datacenter (the environment name). */
    datacenter: string;
    /** Environment name; KV entries live under `platform/<environment>/`. */
    environment: string;
    /** The environment record, published as JSON at `platform/<environment>/record`. */
    record: pulumi.Output<unknown>;
    /** Platform endpoints to register as services. Default: none. */
    endpoints?: CatalogEndpoint[];
    /** CA certificate (PEM) that signed Consul's TLS certificate. Default: the system trust store. */
    caPem?: pulumi.Input<string>;
}

/** The KV prefix of an environment. */
export function kvPrefix(environment: string): string {
    return `platform/${environment}/`;
}

/** Throws a message naming the setting and what is allowed. */
export function validateConsulCatalogArgs(name: string, args: ConsulCatalogArgs): void {
    const c = `consul catalog "${name}"`;
    if (!/^[a-z0-9][a-z0-9-]*$/.test(args.environment)) {
        throw new Error(`${c}: environment is "${args.environment}"; allowed: lower-case letters, digits and '-'`);
    }
    const names = new Set<string>();
    for (const e of args.endpoints ?? []) {
        if (!/^[a-z0-9][a-z0-9-]*$/.test(e.name) || names.has(e.name)) {
            throw new Error(`${c}: endpoints[].name "${e.name}"; allowed: unique lower-case names (letters, digits, '-')`);
        }
        names.add(e.name);
        if (!Number.isInteger(e.port) || e.port < 1 || e.port > 65535) {
            throw new Error(`${c}: endpoint "${e.name}" port is ${e.port}; allowed: 1 to 65535`);
        }
    }
}

const TYPE: ComponentType = "platform:consul:ConsulCatalog";

/**
 * Publishes the environment into Consul: the environment record in KV under
 * a per-environment prefix, and the platform's endpoints as catalog services
 * on a virtual node named after the environment.
 */
export class ConsulCatalog extends pulumi.ComponentResource implements RecordSource {
    public readonly prefix: string;
    public readonly records: ResourceRecord[];

    constructor(name: string, args: ConsulCatalogArgs, opts?: pulumi.ComponentResourceOptions) {
        validateConsulCatalogArgs(name, args);
        super(TYPE, name, {}, opts);
        this.prefix = kvPrefix(args.environment);
        const provider = new Provider(
            `${name}-provider`,
            { address: args.address, token: args.token === undefined ? undefined : pulumi.secret(args.token), datacenter: args.datacenter, caPem: args.caPem, scheme: "https" },
            { parent: this },
        );
        const o = { parent: this, provider };

        new Keys(
            `${name}-record`,
            {
                datacenter: args.datacenter,
                keys: [
                    { path: `${this.prefix}record`, value: args.record.apply((r) => JSON.stringify(r)) },
                    { path: `${this.prefix}managed-by`, value: "pulumi" },
                ],
            },
            o,
        );
        // External services need a node to live on; one per environment.
        const node = new Node(`${name}-node`, { name: `platform-${args.environment}`, address: "127.0.0.1", datacenter: args.datacenter }, o);
        for (const endpoint of args.endpoints ?? []) {
            new Service(
                `${name}-service-${endpoint.name}`,
                {
                    name: endpoint.name,
                    node: node.name,
                    address: endpoint.address,
                    port: endpoint.port,
                    tags: ["platform", args.environment, ...(endpoint.tags ?? [])],
                    datacenter: args.datacenter,
                },
                o,
            );
        }
        this.records = [
            resourceRecord(TYPE, {
                id: "consul/catalog",
                count: (args.endpoints?.length ?? 0) + 1,
                status: "deployed",
                entrypoints: [],
                statusEndpoints: [],
                dependsOn: [RECORD_IDS.consul],
            }),
        ];
        this.registerOutputs({ prefix: this.prefix });
    }
}
