/**
 * Who may do what: the principal behind every request (a tenant and a role, or the platform
 * administrator), the closed set of actions the API offers, and the one decision of whether a
 * principal may take an action. Pure; the API checks it once per request, and the CLI and the
 * console are told the answer (they never work it out themselves).
 *
 * - viewer: reads everything of its tenant;
 * - operator: also deploys, deletes, approves, pauses, resumes, rolls back, cancels, scans;
 * - admin: also manages the tenant's clusters (those it registered), schedules and tokens;
 * - the platform administrator (`flotilla up`'s own token, or the platform role on AWS):
 *   tenants, cluster sets and every cluster — and acts as any tenant's admin when it names one.
 */
import { z } from 'zod';
import { Dns1123Label } from './model.ts';

export const ROLES = ['viewer', 'operator', 'admin'] as const;
export const Role = z.enum(ROLES);
export type Role = z.infer<typeof Role>;

/** The tenant the platform's own records (clusters, tenants, cluster sets) live under. */
export const PLATFORM_TENANT = '_platform';

/** Who is asking. `subject` names the caller (a token id, a JWT subject, an IAM ARN) for the record. */
export const Principal = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('tenant'),
    tenant: z.string().min(1).max(63),
    role: Role,
    subject: z.string().min(1).max(2048),
  }),
  z.object({ kind: z.literal('platform'), subject: z.string().min(1).max(2048) }),
]);
export type Principal = z.infer<typeof Principal>;

export const ACTIONS = [
  // viewer
  'read',
  // operator
  'deploy',
  'operate',
  'scan',
  // admin
  'manage-clusters',
  'manage-schedules',
  'manage-tokens',
  // platform administrator
  'manage-tenants',
  'manage-cluster-sets',
  'discover-clusters',
] as const;
export type Action = (typeof ACTIONS)[number];

/** Actions only the platform administrator takes. */
const PLATFORM_ACTIONS: ReadonlySet<Action> = new Set([
  'manage-tenants',
  'manage-cluster-sets',
  'discover-clusters',
]);

const LEAST_ROLE: Record<
  Exclude<Action, 'manage-tenants' | 'manage-cluster-sets' | 'discover-clusters'>,
  Role
> = {
  read: 'viewer',
  deploy: 'operator',
  operate: 'operator',
  scan: 'operator',
  'manage-clusters': 'admin',
  'manage-schedules': 'admin',
  'manage-tokens': 'admin',
};

const RANK: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 };

export type Decision = { readonly allowed: true } | { readonly allowed: false; readonly reason: string };

/** Whether `principal` may take `action` (within its tenant; the platform administrator anywhere). */
export function decide(principal: Principal, action: Action): Decision {
  if (principal.kind === 'platform') return { allowed: true };
  if (PLATFORM_ACTIONS.has(action)) {
    return { allowed: false, reason: `only the platform administrator may ${describe(action)}` };
  }
  const least = LEAST_ROLE[action as keyof typeof LEAST_ROLE];
  if (RANK[principal.role] >= RANK[least]) return { allowed: true };
  return {
    allowed: false,
    reason: `the ${principal.role} role may not ${describe(action)}; it takes ${least}`,
  };
}

function describe(action: Action): string {
  switch (action) {
    case 'read':
      return 'read';
    case 'deploy':
      return 'deploy or delete deployments';
    case 'operate':
      return 'approve, pause, resume, roll back or cancel rollouts';
    case 'scan':
      return 'start drift scans';
    case 'manage-clusters':
      return 'register, label or deregister clusters';
    case 'manage-schedules':
      return 'manage schedules';
    case 'manage-tokens':
      return 'manage tokens';
    case 'manage-tenants':
      return 'manage tenants';
    case 'manage-cluster-sets':
      return 'manage cluster sets';
    case 'discover-clusters':
      return 'discover clusters in the account';
    default:
      return action;
  }
}

/** Every action, with whether the principal may take it and why not (for the CLI and the console). */
export function allowedActions(principal: Principal): Record<Action, Decision> {
  return Object.fromEntries(ACTIONS.map((a) => [a, decide(principal, a)])) as Record<Action, Decision>;
}

/** A tenant's name: a DNS label, never the platform's own. */
export const TenantName = Dns1123Label.refine((name) => name !== PLATFORM_TENANT, {
  message: 'is reserved for the platform',
});

/** Who owns a cluster or an agent: a tenant, or the platform. */
export const OwnerName = z.union([TenantName, z.literal(PLATFORM_TENANT)]);
