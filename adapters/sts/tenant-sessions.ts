/**
 * Sessions of the tenant data role: the credentials a function acts for one tenant with on AWS.
 * The role (infra/flotilla.ts `TenantDataRole`) lets a session reach only the table items whose
 * partition key starts with `T#<tenant>#` and the secrets under `<prefix>/<tenant>/`, where
 * `<tenant>` is the session's `flotilla:tenant` tag; so a session is assumed with that one tag,
 * and what it may touch follows from the tag alone.
 *
 * Credentials are kept per tenant and renewed a few minutes before they expire (one AssumeRole
 * per tenant per hour or so, not one per request); concurrent callers share one call. A failed
 * call is not kept: the next caller tries again.
 */
import {
  AssumeRoleCommand,
  type AssumeRoleCommandInput,
  type AssumeRoleCommandOutput,
  STSClient,
} from '@aws-sdk/client-sts';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@aws-sdk/types';
import { PLATFORM_TENANT } from '../../domain/access.ts';
import { FlotillaError, TransientError, ValidationError } from '../../domain/errors.ts';
import { dns1123LabelProblem } from '../../domain/names.ts';
import type { Clock } from '../../domain/ports.ts';
import { awsErrorName, isRetryable } from '../eks/aws-errors.ts';

/** The session tag the tenant data role's policy reads (`aws:PrincipalTag/flotilla:tenant`). */
export const TENANT_SESSION_TAG = 'flotilla:tenant';

/** The STS call this adapter makes (the SDK client, or a recording fake, behind it). */
export interface StsApi {
  assumeRole(input: AssumeRoleCommandInput): Promise<AssumeRoleCommandOutput>;
}

/** The narrow API over an SDK client (built once, in the composition root). */
export function stsApi(client: STSClient): StsApi {
  return { assumeRole: (input) => client.send(new AssumeRoleCommand(input)) };
}

export interface TenantSessionsOptions {
  readonly api: StsApi;
  /** The tenant data role's ARN. */
  readonly roleArn: string;
  readonly clock: Clock;
  /** Seconds a session lasts (900 to the role's maximum). @default 3600 */
  readonly durationSeconds?: number;
  /** Credentials this close to their expiry are renewed before use. @default 5 minutes */
  readonly renewBeforeMs?: number;
}

interface Held {
  readonly credentials: Promise<AwsCredentialIdentity>;
  /** When to renew; known once the call answered. */
  renewAt?: number;
}

/** The tenant data role's sessions, one per tenant, assumed on first use and renewed before expiry. */
export class TenantSessions {
  readonly #api: StsApi;
  readonly #roleArn: string;
  readonly #clock: Clock;
  readonly #durationSeconds: number;
  readonly #renewBeforeMs: number;
  readonly #held = new Map<string, Held>();

  constructor(options: TenantSessionsOptions) {
    this.#api = options.api;
    this.#roleArn = options.roleArn;
    this.#clock = options.clock;
    this.#durationSeconds = options.durationSeconds ?? 3600;
    this.#renewBeforeMs = options.renewBeforeMs ?? 5 * 60_000;
  }

  /** The credentials of `tenant`'s session: kept ones while they are fresh, else a new session. */
  credentialsOf(tenant: string): Promise<AwsCredentialIdentity> {
    checkTenant(tenant);
    const held = this.#held.get(tenant);
    const now = this.#clock.now().getTime();
    // A call still in flight has no renewAt yet: share it.
    if (held && (held.renewAt === undefined || now < held.renewAt)) return held.credentials;
    const fresh: Held = { credentials: this.#assume(tenant) };
    this.#held.set(tenant, fresh);
    fresh.credentials.then(
      (credentials) => {
        const expires = credentials.expiration?.getTime() ?? now + this.#durationSeconds * 1000;
        fresh.renewAt = expires - this.#renewBeforeMs;
      },
      () => {
        if (this.#held.get(tenant) === fresh) this.#held.delete(tenant);
      },
    );
    return fresh.credentials;
  }

  /** A credential provider for SDK clients that act for `tenant`. */
  providerOf(tenant: string): AwsCredentialIdentityProvider {
    checkTenant(tenant);
    return () => this.credentialsOf(tenant);
  }

  async #assume(tenant: string): Promise<AwsCredentialIdentity> {
    let answer: AssumeRoleCommandOutput;
    try {
      answer = await this.#api.assumeRole({
        RoleArn: this.#roleArn,
        // [\w+=,.@-], at most 64: a tenant name is at most 63 DNS-label characters.
        RoleSessionName: `t-${tenant}`.slice(0, 64),
        DurationSeconds: this.#durationSeconds,
        Tags: [{ Key: TENANT_SESSION_TAG, Value: tenant }],
      });
    } catch (error) {
      const code = awsErrorName(error) || 'an error';
      if (isRetryable(error)) {
        throw new TransientError(`STS could not start a session for tenant "${tenant}" (${code})`, {
          cause: error,
        });
      }
      throw new FlotillaError(
        `could not assume the tenant data role for tenant "${tenant}" (${code}): check that this function's role may assume it with the ${TENANT_SESSION_TAG} session tag`,
        { cause: error },
      );
    }
    const c = answer.Credentials;
    if (!c?.AccessKeyId || !c.SecretAccessKey || !c.SessionToken) {
      throw new FlotillaError(`STS answered no credentials for tenant "${tenant}"`);
    }
    return {
      accessKeyId: c.AccessKeyId,
      secretAccessKey: c.SecretAccessKey,
      sessionToken: c.SessionToken,
      ...(c.Expiration ? { expiration: c.Expiration } : {}),
    };
  }
}

/**
 * Only tenants get sessions: the platform's own records are never reached through one (a
 * `_platform` tag would open the token partition), and the tag must be a tenant's name.
 */
function checkTenant(tenant: string): void {
  if (tenant === PLATFORM_TENANT) {
    throw new ValidationError([
      {
        path: 'tenant',
        message: `the platform (${PLATFORM_TENANT}) acts with its own role, not a tenant session`,
      },
    ]);
  }
  const problem = dns1123LabelProblem(tenant);
  if (problem) throw new ValidationError([{ path: 'tenant', message: problem }]);
}

/** TenantSessions over an SDK client of the region. */
export function createTenantSessions(
  options: { region: string } & Omit<TenantSessionsOptions, 'api'>,
): TenantSessions {
  const { region, ...rest } = options;
  return new TenantSessions({ api: stsApi(new STSClient({ region })), ...rest });
}
