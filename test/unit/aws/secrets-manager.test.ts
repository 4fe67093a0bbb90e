import {
  CreateSecretCommand,
  DeleteSecretCommand,
  GetSecretValueCommand,
  InvalidRequestException,
  PutSecretValueCommand,
  ResourceExistsException,
  ResourceNotFoundException,
  RestoreSecretCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { afterEach, describe, expect, it } from 'vitest';
import { SecretsManagerSecretStore, secretsManagerApi } from '../../../adapters/secrets/secrets-manager.ts';
import { CredentialsError, NotFoundError, TransientError, ValidationError } from '../../../domain/errors.ts';

const sm = mockClient(SecretsManagerClient);
const ARN =
  'arn:aws:secretsmanager:eu-west-1:111122223333:secret:flotilla/default/clusters/edge-1/01h-AbCdEf';
const SECRET = 'eyJhbGciOiJSUzI1NiJ9.c2VjcmV0LXRva2Vu.sig-value-123';

function store(options: Partial<ConstructorParameters<typeof SecretsManagerSecretStore>[0]> = {}) {
  return new SecretsManagerSecretStore({
    api: secretsManagerApi(new SecretsManagerClient({ region: 'eu-west-1' })),
    ...options,
  });
}

function sdkError(name: string, message: string, status = 400): Error {
  return Object.assign(new Error(message), { name, $metadata: { httpStatusCode: status } });
}

afterEach(() => sm.reset());

describe('SecretsManagerSecretStore', () => {
  it('creates a secret under the prefix, tagged and encrypted with the given key, and returns its ARN', async () => {
    // Prepare
    sm.on(CreateSecretCommand).resolves({ ARN, Name: 'flotilla/default/clusters/edge-1/01h' });
    const secrets = store({ kmsKeyId: 'alias/flotilla', tags: { team: 'platform' } });

    // Act
    const ref = await secrets.put('default/clusters/edge-1/01h', SECRET);

    // Assess
    expect(ref).toBe(ARN);
    expect(sm).toHaveReceivedCommandWith(CreateSecretCommand, {
      Name: 'flotilla/default/clusters/edge-1/01h',
      SecretString: SECRET,
      KmsKeyId: 'alias/flotilla',
      Tags: [{ Key: 'team', Value: 'platform' }],
    });
  });

  it('keeps a name that already carries the prefix as it is', async () => {
    sm.on(CreateSecretCommand).resolves({ ARN });
    await store().put('flotilla/default/clusters/edge-1/01h', SECRET);
    expect(sm).toHaveReceivedCommandWith(CreateSecretCommand, {
      Name: 'flotilla/default/clusters/edge-1/01h',
    });
  });

  it('stores a new version when the name exists', async () => {
    sm.on(CreateSecretCommand).rejects(new ResourceExistsException({ message: 'exists', $metadata: {} }));
    sm.on(PutSecretValueCommand).resolves({ ARN, VersionId: 'v2' });

    const ref = await store().put('default/clusters/edge-1/01h', 'new-value');

    expect(ref).toBe(ARN);
    expect(sm).toHaveReceivedCommandWith(PutSecretValueCommand, {
      SecretId: 'flotilla/default/clusters/edge-1/01h',
      SecretString: 'new-value',
    });
  });

  it('restores a secret waiting out its recovery window before writing to it', async () => {
    sm.on(CreateSecretCommand).rejects(
      new InvalidRequestException({
        message:
          "You can't create this secret because a secret with this name is already scheduled for deletion.",
        $metadata: {},
      }),
    );
    sm.on(RestoreSecretCommand).resolves({ ARN });
    sm.on(PutSecretValueCommand).resolves({ ARN });

    await expect(store().put('default/clusters/edge-1/01h', 'v')).resolves.toBe(ARN);
    expect(sm).toHaveReceivedCommandTimes(RestoreSecretCommand, 1);
    expect(sm).toHaveReceivedCommandTimes(PutSecretValueCommand, 1);
  });

  it('refuses a name Secrets Manager would refuse, before calling it', async () => {
    await expect(store().put('default/clusters/edge 1', 'v')).rejects.toBeInstanceOf(ValidationError);
    expect(sm).not.toHaveReceivedAnyCommand();
  });

  it('reads the value of a reference', async () => {
    sm.on(GetSecretValueCommand, { SecretId: ARN }).resolves({ ARN, SecretString: SECRET });
    await expect(store().get(ARN)).resolves.toBe(SECRET);
  });

  it('maps a missing secret to NotFoundError naming only its last segment', async () => {
    sm.on(GetSecretValueCommand).rejects(
      new ResourceNotFoundException({
        message: "Secrets Manager can't find the specified secret.",
        $metadata: {},
      }),
    );
    const error = await store()
      .get(ARN)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NotFoundError);
    expect((error as Error).message).toContain('flotilla/default/clusters/edge-1/01h-AbCdEf');
    expect((error as Error).message).not.toContain('arn:aws');
  });

  it('maps throttling and 5xx to TransientError, and refused access to CredentialsError', async () => {
    sm.on(GetSecretValueCommand)
      .rejectsOnce(sdkError('ThrottlingException', 'Rate exceeded'))
      .rejectsOnce(sdkError('InternalServiceError', 'boom', 500))
      .rejectsOnce(sdkError('AccessDeniedException', 'User is not authorized'));
    const secrets = store();

    await expect(secrets.get(ARN)).rejects.toBeInstanceOf(TransientError);
    await expect(secrets.get(ARN)).rejects.toBeInstanceOf(TransientError);
    await expect(secrets.get(ARN)).rejects.toBeInstanceOf(CredentialsError);
  });

  it('deletes with a recovery window, and treats an absent secret as deleted', async () => {
    sm.on(DeleteSecretCommand)
      .resolvesOnce({ ARN })
      .rejectsOnce(new ResourceNotFoundException({ message: 'gone', $metadata: {} }));
    const secrets = store({ recoveryWindowDays: 14 });

    await secrets.delete(ARN);
    await secrets.delete(ARN);

    expect(sm).toHaveReceivedCommandTimes(DeleteSecretCommand, 2);
    expect(sm).toHaveReceivedCommandWith(DeleteSecretCommand, { SecretId: ARN, RecoveryWindowInDays: 14 });
  });

  it('rejects a recovery window outside 7 to 30 days', () => {
    expect(() => store({ recoveryWindowDays: 3 })).toThrow(ValidationError);
  });

  it('never puts the secret value in an error', async () => {
    sm.on(CreateSecretCommand).rejects(sdkError('InvalidParameterException', 'bad parameter'));
    const error = await store()
      .put('default/clusters/edge-1/01h', SECRET)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ValidationError);
    expect(
      JSON.stringify({ message: (error as Error).message, issues: (error as ValidationError).issues }),
    ).not.toContain(SECRET);
  });
});
