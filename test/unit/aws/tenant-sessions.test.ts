import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { afterEach, describe, expect, it } from 'vitest';
import { stsApi, TENANT_SESSION_TAG, TenantSessions } from '../../../adapters/sts/tenant-sessions.ts';
import { FlotillaError, TransientError, ValidationError } from '../../../domain/errors.ts';

const sts = mockClient(STSClient);
const ROLE = 'arn:aws:iam::111122223333:role/Flotilla-TenantDataRole';
const T0 = Date.parse('2026-12-04T08:00:00Z');

afterEach(() => sts.reset());

/** A clock the test moves. */
function clockAt(start: number) {
  let now = start;
  return { now: () => new Date(now), advance: (ms: number) => (now += ms) };
}

/** Credentials STS would answer, expiring an hour after `at`, numbered so answers differ. */
function answer(n: number, at: number) {
  return {
    Credentials: {
      AccessKeyId: `ASIA${n}`,
      SecretAccessKey: `secret-${n}`,
      SessionToken: `token-${n}`,
      Expiration: new Date(at + 3600_000),
    },
  };
}

function sessions(clock: { now: () => Date }) {
  return new TenantSessions({ api: stsApi(new STSClient({ region: 'eu-west-1' })), roleArn: ROLE, clock });
}

describe('TenantSessions', () => {
  it('assumes the tenant data role with the tenant as its one session tag', async () => {
    // Prepare
    sts.on(AssumeRoleCommand).resolves(answer(1, T0));
    // Act
    const credentials = await sessions(clockAt(T0)).credentialsOf('alpha');
    // Assess
    expect(sts).toHaveReceivedCommandTimes(AssumeRoleCommand, 1);
    expect(sts).toHaveReceivedCommandWith(AssumeRoleCommand, {
      RoleArn: ROLE,
      RoleSessionName: 't-alpha',
      DurationSeconds: 3600,
      Tags: [{ Key: TENANT_SESSION_TAG, Value: 'alpha' }],
    });
    expect(credentials).toEqual({
      accessKeyId: 'ASIA1',
      secretAccessKey: 'secret-1',
      sessionToken: 'token-1',
      expiration: new Date(T0 + 3600_000),
    });
  });

  it('keeps credentials per tenant: one call per tenant, shared by concurrent callers', async () => {
    // Prepare
    let n = 0;
    sts.on(AssumeRoleCommand).callsFake(async () => answer(++n, T0));
    const s = sessions(clockAt(T0));
    // Act
    const [a1, a2] = await Promise.all([s.credentialsOf('alpha'), s.credentialsOf('alpha')]);
    const a3 = await s.credentialsOf('alpha');
    const b = await s.credentialsOf('beta');
    // Assess
    expect(sts).toHaveReceivedCommandTimes(AssumeRoleCommand, 2);
    expect(a1.accessKeyId).toBe(a2.accessKeyId);
    expect(a3.accessKeyId).toBe(a1.accessKeyId);
    expect(b.accessKeyId).not.toBe(a1.accessKeyId);
    const tags = sts.commandCalls(AssumeRoleCommand).map((c) => c.args[0].input.Tags?.[0]?.Value);
    expect(tags).toEqual(['alpha', 'beta']);
  });

  it('renews credentials five minutes before they expire, not before', async () => {
    // Prepare
    const clock = clockAt(T0);
    let n = 0;
    sts.on(AssumeRoleCommand).callsFake(async () => answer(++n, clock.now().getTime()));
    const s = sessions(clock);
    const first = await s.credentialsOf('alpha');
    // Act
    clock.advance(54 * 60_000); // 6 minutes before expiry
    const kept = await s.credentialsOf('alpha');
    clock.advance(2 * 60_000); // 4 minutes before expiry
    const renewed = await s.credentialsOf('alpha');
    // Assess
    expect(kept.accessKeyId).toBe(first.accessKeyId);
    expect(renewed.accessKeyId).not.toBe(first.accessKeyId);
    expect(sts).toHaveReceivedCommandTimes(AssumeRoleCommand, 2);
  });

  it('gives SDK clients a provider that answers the kept credentials', async () => {
    // Prepare
    sts.on(AssumeRoleCommand).resolves(answer(7, T0));
    const provider = sessions(clockAt(T0)).providerOf('alpha');
    // Act
    const [one, two] = [await provider(), await provider()];
    // Assess
    expect(one.accessKeyId).toBe('ASIA7');
    expect(two).toBe(one);
    expect(sts).toHaveReceivedCommandTimes(AssumeRoleCommand, 1);
  });

  it('does not keep a failed call: the next caller tries again', async () => {
    // Prepare
    const throttled = Object.assign(new Error('Rate exceeded'), {
      name: 'Throttling',
      $metadata: { httpStatusCode: 400 },
    });
    sts.on(AssumeRoleCommand).rejectsOnce(throttled).resolves(answer(2, T0));
    const s = sessions(clockAt(T0));
    // Act
    const failed = s.credentialsOf('alpha');
    // Assess
    await expect(failed).rejects.toBeInstanceOf(TransientError);
    await expect(s.credentialsOf('alpha')).resolves.toMatchObject({ accessKeyId: 'ASIA2' });
    expect(sts).toHaveReceivedCommandTimes(AssumeRoleCommand, 2);
  });

  it('names the role and the tag when the role may not be assumed', async () => {
    // Prepare
    sts.on(AssumeRoleCommand).rejects(
      Object.assign(new Error('not authorized'), {
        name: 'AccessDenied',
        $metadata: { httpStatusCode: 403 },
      }),
    );
    // Act
    const failed = sessions(clockAt(T0)).credentialsOf('alpha');
    // Assess
    await expect(failed).rejects.toBeInstanceOf(FlotillaError);
    await expect(failed).rejects.toThrow(
      /tenant data role for tenant "alpha" \(AccessDenied\).*flotilla:tenant/,
    );
  });

  it('refuses the platform and names that are not tenants, before any call', async () => {
    // Prepare
    const s = sessions(clockAt(T0));
    // Act + Assess
    expect(() => s.credentialsOf('_platform')).toThrow(ValidationError);
    expect(() => s.providerOf('Alpha#X')).toThrow(ValidationError);
    expect(sts).toHaveReceivedCommandTimes(AssumeRoleCommand, 0);
  });
});
