/**
 * Cloud identities as the cluster components take them, in one place: the
 * components validate their args with these, and the stack config loader
 * checks `platform:clusterAdmins` with the same patterns before anything runs.
 */

/** An Entra ID object id (a GUID): AKS admin groups. */
export const ENTRA_OBJECT_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** An IAM role ARN: EKS cluster-admin access entries (users are not accepted). */
export const IAM_ROLE_ARN = /^arn:aws:iam::\d{12}:role\/[\w+=,.@/-]+$/;
