import { ResourceValidationPolicy } from "@pulumi/policy";

interface DatabaseProps {
    publiclyAccessible?: boolean;
    network?: { publicNetworkAccess?: string };
    startIpAddress?: string;
    endIpAddress?: string;
}

/** Databases are reachable only on private networks. */
export const databaseNotPublic: ResourceValidationPolicy = {
    name: "database-not-public",
    description: "Databases have no public endpoint: RDS not publicly accessible, Flexible Server public access disabled, no open firewall rule.",
    enforcementLevel: "mandatory",
    validateResource: (args, reportViolation) => {
        const p = args.props as DatabaseProps;
        switch (args.type) {
            case "aws:rds/instance:Instance":
            case "aws:rds/clusterInstance:ClusterInstance":
                if (p.publiclyAccessible === true) {
                    reportViolation(`${args.urn} (${args.type}): publiclyAccessible is true; databases stay private`);
                }
                return;
            case "azure-native:dbforpostgresql:Server":
                if (p.network?.publicNetworkAccess !== "Disabled") {
                    reportViolation(
                        `${args.urn} (${args.type}): network.publicNetworkAccess is ${p.network?.publicNetworkAccess ?? "unset (Enabled)"}; set "Disabled"`,
                    );
                }
                return;
            case "azure-native:dbforpostgresql:FirewallRule":
                reportViolation(`${args.urn} (${args.type}): firewall rules open a database to public addresses (${p.startIpAddress}-${p.endIpAddress}); use private access`);
                return;
        }
    },
};
