/**
 * What a config is: as written in the YAML (once the schema has admitted it), and as loaded, with
 * the domain objects built from it.
 */
import type { Catalog, OperationTemplate, ParameterSpec } from '../domain/catalog';
import type { DelegationPolicy } from '../domain/delegation';
import type { AccessPolicy } from '../domain/policy';
import type { ConversationKind } from '../domain/request';
import type { RiskLevel, SubscriptionEnvironments } from '../domain/risk';
import type { Weekday } from '../domain/schedule';
import type { TemplateFile } from './templates';

export type CredentialType = 'default' | 'managedIdentity' | 'clientSecret' | 'workloadIdentity';

export interface AzureConfig {
  /** Empty: the local ARM sandbox is used. */
  subscriptionId: string;
  endpoint?: string;
  credential: { type: CredentialType; clientId?: string; tenantId?: string };
  sandbox: boolean;
}

export interface CountersignConfig {
  file: string;
  /**
   * The policy version recorded with every request: the config file's SHA-256 when it names no
   * template, else the SHA-256 over it and every template's (templates.ts `policyVersion`).
   */
  hash: string;
  /** SHA-256 of the config file's bytes alone. */
  fileHash: string;
  /** The deployment templates read with the config and kept in memory, with their SHA-256, in the policy version's order. */
  templates: TemplateFile[];
  tenants: string[];
  azure: AzureConfig;
  roles: Record<string, string[]>;
  auditorRoles: string[];
  audit: AuditConfig;
  /** Delegation for absence (the `delegation` block; default on, at most 14 days). */
  delegation: DelegationPolicy;
  /** Where Entra group membership is looked up (the `directory` block). */
  directory: DirectoryConfig;
  catalog: Catalog;
  access: AccessPolicy;
  /** Which environment each subscription is (`azure.environments`; empty when not given). */
  subscriptionEnvironments: SubscriptionEnvironments;
  /** A deployment template (relative to the config file's folder) as read when the config loaded. */
  loadTemplate(relativePath: string): Record<string, unknown>;
}

/** The `directory` block: Microsoft Graph, for roles that list Entra groups. */
export interface DirectoryConfig {
  /** How long a membership answer (member or not) is kept (directory.cacheLifetime, default 5m). */
  cacheLifetimeSeconds: number;
  /** Microsoft Graph's base URL (directory.graphEndpoint, default https://graph.microsoft.com). */
  graphEndpoint: string;
}

/** The `audit` block beyond auditorRoles: checkpoints and the HTTP export API. */
export interface AuditConfig {
  /** How often the chain head is signed (audit.checkpointInterval, default 15m). */
  checkpointIntervalSeconds: number;
  /** At most this many records between two checkpoints (audit.checkpointEveryRecords, default 1000). */
  checkpointEveryRecords: number;
  /** GET /api/audit/export; absent: the endpoint answers that it is not enabled. */
  http?: AuditHttpConfig;
}

export interface AuditHttpConfig {
  /** The token issuer (`iss`), e.g. https://login.microsoftonline.com/<tenant>/v2.0. */
  issuer: string;
  /** The audience (`aud`) tokens must be for: the API's client id or App ID URI. */
  audience: string;
  /** The app role (in the `roles` claim) that may export. */
  role: string;
  /** Where the issuer's signing keys come from: its JWKS URI, or a JSON Web Key Set given inline from a file. */
  jwks: { uri: string } | { keys: Record<string, unknown>[] };
}

/** The YAML as written, in the shape the schema admits; building checks what the schema cannot. */
export interface RawConfig {
  version: 1;
  tenants: string[];
  azure?: { subscriptionId?: string; endpoint?: string; environments?: Record<string, string[]>; credential?: AzureConfig['credential'] };
  roles: Record<string, string[]>;
  defaults?: { approvals?: number; ttl?: string; maxScheduleAhead?: string } & RawReach;
  audit?: {
    auditorRoles?: string[];
    checkpointInterval?: string;
    checkpointEveryRecords?: number;
    http?: { issuer: string; audience: string; role: string; jwksUri?: string; jwksFile?: string };
  };
  delegation?: { enabled?: boolean; maxDuration?: string };
  directory?: { cacheLifetime?: string; graphEndpoint?: string };
  commands: RawCommand[];
}

export interface RawCommand {
  name: string;
  description: string;
  sensitive?: boolean;
  risk?: RiskLevel;
  parameters?: RawParameter[];
  operation: OperationTemplate;
  policy?: {
    approvals?: number;
    /** With approvals: N approvals from any of these roles. Absent when requirements is given. */
    approverRoles?: string[];
    /** A quorum: `count` (default 1) approvals from each role at once, by distinct people. */
    requirements?: { role: string; count?: number }[];
    /** Whether a reason must be given and how long it must be at least. */
    reason?: { required?: boolean; minLength?: number };
    requesterRoles?: string[];
    ttl?: string;
    conversations?: { types?: ConversationKind[]; ids?: string[] };
    /** When it may run: wall-clock windows in a zone, e.g. { days: [sat, sun], from: "02:00", to: "05:00", zone: Europe/London }. */
    windows?: { days: Weekday[]; from: string; to: string; zone: string }[];
    /** How long an approval stays valid waiting for its run (default 7d). */
    maxScheduleAhead?: string;
    /** Off unless allowed: true. Who may run it at once without approval, and how it is reviewed. */
    breakGlass?: { allowed: boolean; roles: string[]; reviewWithin: string; notify?: string[]; maxUses?: { count: number; per: string } };
  } & RawReach;
}

/** How approvers are reached: under a command's policy, or under `defaults` for every command. */
export interface RawReach {
  notify?: { approvers?: 'personal' | 'none'; channels?: string[] };
  /** Points before expiry: "50%" (when half the time to live is left) or a duration such as "15m". */
  reminders?: { at: string[]; max?: number };
  escalation?: { role: string; after: string };
}

export interface RawParameter {
  name: string;
  description?: string;
  type?: ParameterSpec['type'];
  allowed?: (string | number)[];
  pattern?: string;
  min?: number;
  max?: number;
  default?: string | number;
}
