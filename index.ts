// Entry point of the Pulumi program (see Pulumi.yaml). The stack's outputs
// are the environment record.
import { runEnvironment } from "./environments";

export = runEnvironment();
