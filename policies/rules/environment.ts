// Shared readers: which environment a resource belongs to, and its tags or labels.
import { ResourceValidationArgs } from "@pulumi/policy";

interface Tagged {
    tags?: Record<string, string>;
    metadata?: { labels?: Record<string, string> };
}

/** The stack name, from a URN (`urn:pulumi:<stack>::<project>::…`). */
export function stackOf(urn: string): string {
    return /^urn:pulumi:([^:]+)::/.exec(urn)?.[1] ?? "";
}

/** A resource's environment: its `environment` tag, its environment label, else its stack. */
export function environmentOf(args: Pick<ResourceValidationArgs, "urn" | "props">): string {
    const p = args.props as Tagged;
    return p.tags?.environment ?? p.metadata?.labels?.["platform.example.com/environment"] ?? stackOf(args.urn);
}
