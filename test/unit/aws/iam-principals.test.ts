import { IAMClient, ListRoleTagsCommand, ListUserTagsCommand } from '@aws-sdk/client-iam';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { afterEach, describe, expect, it } from 'vitest';
import { IamPrincipalDirectory, iamTagsApi, subjectOf } from '../../../adapters/iam/principal-directory.ts';
import { authorize } from '../../../adapters/lambda/principal.ts';

const iam = mockClient(IAMClient);
afterEach(() => iam.reset());

function clockAt(start: number) {
  let now = start;
  return { now: () => new Date(now), advance: (ms: number) => (now += ms) };
}

function directory(clock = clockAt(0)) {
  return new IamPrincipalDirectory({ api: iamTagsApi(new IAMClient({ region: 'us-east-1' })), clock });
}

const tags = (entries: Record<string, string>) =>
  Object.entries(entries).map(([Key, Value]) => ({ Key, Value }));

/** An API Gateway event from an IAM-authorized caller. */
function sigv4Event(userArn: string, tenantHeader?: string): APIGatewayProxyEventV2 {
  return {
    headers: tenantHeader ? { 'x-flotilla-tenant': tenantHeader } : {},
    requestContext: { authorizer: { iam: { userArn, accountId: '111122223333' } } },
  } as unknown as APIGatewayProxyEventV2;
}

describe('subjectOf', () => {
  it.each([
    ['arn:aws:sts::111122223333:assumed-role/ci-deployer/gh-run-42', { kind: 'role', name: 'ci-deployer' }],
    [
      'arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_Admin_0123abcd/jane@example.com',
      { kind: 'role', name: 'AWSReservedSSO_Admin_0123abcd' },
    ],
    ['arn:aws:iam::111122223333:role/teams/payments/deployer', { kind: 'role', name: 'deployer' }],
    ['arn:aws:iam::111122223333:user/jane', { kind: 'user', name: 'jane' }],
    ['arn:aws-us-gov:iam::111122223333:user/ops/bob', { kind: 'user', name: 'bob' }],
    ['arn:aws:iam::111122223333:root', { kind: 'none' }],
    ['arn:aws:sts::111122223333:federated-user/bob', { kind: 'none' }],
    ['not an arn', { kind: 'none' }],
  ])('%s', (arn, expected) => {
    expect(subjectOf(arn)).toEqual(expected);
  });
});

describe('IamPrincipalDirectory', () => {
  it("reads an assumed-role session's role tags, every page, and keeps them for a while", async () => {
    iam
      .on(ListRoleTagsCommand, { RoleName: 'ci-deployer' })
      .resolvesOnce({ Tags: tags({ 'flotilla:tenant': 'payments' }), IsTruncated: true, Marker: 'm1' })
      .resolvesOnce({ Tags: tags({ 'flotilla:role': 'operator' }), IsTruncated: false });
    const clock = clockAt(0);
    const dir = directory(clock);
    const arn = 'arn:aws:sts::111122223333:assumed-role/ci-deployer/run-1';
    expect(await dir.tagsOf(arn)).toEqual({ 'flotilla:tenant': 'payments', 'flotilla:role': 'operator' });
    expect(iam).toHaveReceivedCommandWith(ListRoleTagsCommand, { RoleName: 'ci-deployer', Marker: 'm1' });
    clock.advance(60_000);
    await dir.tagsOf(arn);
    expect(iam).toHaveReceivedCommandTimes(ListRoleTagsCommand, 2);
    // Past the time kept, IAM is asked again (a retagged role takes effect).
    iam.on(ListRoleTagsCommand).resolves({ Tags: tags({ 'flotilla:tenant': 'search' }) });
    clock.advance(300_000);
    expect(await dir.tagsOf(arn)).toEqual({ 'flotilla:tenant': 'search' });
  });

  it('reads a user by its user name, has nothing for a root user, and keeps no failure', async () => {
    iam
      .on(ListUserTagsCommand, { UserName: 'jane' })
      .resolves({ Tags: tags({ 'flotilla:role': 'platform' }) });
    const dir = directory();
    expect(await dir.tagsOf('arn:aws:iam::111122223333:user/jane')).toEqual({ 'flotilla:role': 'platform' });
    expect(await dir.tagsOf('arn:aws:iam::111122223333:root')).toEqual({});
    iam.on(ListRoleTagsCommand).rejectsOnce(new Error('Throttling')).resolves({ Tags: [] });
    const arn = 'arn:aws:iam::111122223333:role/x';
    await expect(dir.tagsOf(arn)).rejects.toThrow('Throttling');
    expect(await dir.tagsOf(arn)).toEqual({});
  });
});

describe('a SigV4 caller, end to end through authorize', () => {
  const store = {
    getTenant: async (name: string) => (name === 'payments' ? ({ name } as never) : undefined),
  };

  it('acts in the tenant and with the role its tags give', async () => {
    iam.on(ListRoleTagsCommand, { RoleName: 'ci-deployer' }).resolves({
      Tags: tags({ 'flotilla:tenant': 'payments', 'flotilla:role': 'operator' }),
    });
    const deps = { store, principals: directory() };
    const arn = 'arn:aws:sts::111122223333:assumed-role/ci-deployer/run-1';
    const caller = await authorize(sigv4Event(arn), 'deploy', deps);
    expect(caller).toMatchObject({
      principal: { kind: 'tenant', tenant: 'payments', role: 'operator', subject: arn },
      tenant: 'payments',
    });
    await expect(authorize(sigv4Event(arn), 'manage-tokens', deps)).rejects.toMatchObject({
      name: 'ForbiddenError',
      message: expect.stringMatching(/operator role may not manage tokens/),
    });
    // Naming another tenant is a tenant that does not exist, for this caller.
    await expect(authorize(sigv4Event(arn, 'search'), 'read', deps)).rejects.toMatchObject({
      name: 'NotFoundError',
    });
  });

  it('refuses an untagged principal, naming the tags it needs', async () => {
    iam.on(ListRoleTagsCommand).resolves({ Tags: [] });
    const deps = { store, principals: directory() };
    await expect(
      authorize(sigv4Event('arn:aws:sts::111122223333:assumed-role/someone/s'), 'read', deps),
    ).rejects.toMatchObject({ name: 'ForbiddenError', message: expect.stringMatching(/flotilla:tenant/) });
  });
});
