// The provider-neutral cluster lives in components/shared (shared helpers take
// it, and shared/ imports from no component); re-exported so the cluster's
// implementations and existing importers keep one name for it.
export type { Cluster, DeliveryMode } from "../shared/cluster";
