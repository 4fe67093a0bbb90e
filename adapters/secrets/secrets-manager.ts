/**
 * The SecretStore on AWS: AWS Secrets Manager. A secret is created under a stable name (below a
 * configurable prefix, e.g. `flotilla/<tenant>/clusters/<name>/…`), tagged, optionally
 * encrypted with a customer KMS key, and referenced by its ARN on the cluster record. Writing
 * an existing name stores a new version; deleting schedules the deletion with a recovery window.
 * SDK errors become domain errors by their code; no secret value is ever part of one.
 */
import {
  CreateSecretCommand,
  type CreateSecretCommandInput,
  type CreateSecretCommandOutput,
  DeleteSecretCommand,
  type DeleteSecretCommandInput,
  type DeleteSecretCommandOutput,
  GetSecretValueCommand,
  type GetSecretValueCommandInput,
  type GetSecretValueCommandOutput,
  PutSecretValueCommand,
  type PutSecretValueCommandInput,
  type PutSecretValueCommandOutput,
  RestoreSecretCommand,
  type RestoreSecretCommandInput,
  type RestoreSecretCommandOutput,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import type { AwsCredentialIdentityProvider } from '@aws-sdk/types';
import {
  CredentialsError,
  FlotillaError,
  NotFoundError,
  TransientError,
  ValidationError,
} from '../../domain/errors.ts';
import type { SecretStore } from '../../domain/ports.ts';
import { awsErrorName, isRetryable } from '../eks/aws-errors.ts';
import { secretRefLabel } from './aws-credentials.ts';

/** The calls Flotilla makes to Secrets Manager (a recording fake or the SDK client behind it). */
export interface SecretsManagerApi {
  createSecret(input: CreateSecretCommandInput): Promise<CreateSecretCommandOutput>;
  putSecretValue(input: PutSecretValueCommandInput): Promise<PutSecretValueCommandOutput>;
  getSecretValue(input: GetSecretValueCommandInput): Promise<GetSecretValueCommandOutput>;
  deleteSecret(input: DeleteSecretCommandInput): Promise<DeleteSecretCommandOutput>;
  restoreSecret(input: RestoreSecretCommandInput): Promise<RestoreSecretCommandOutput>;
}

/** The narrow API over an SDK client (built once, in the composition root). */
export function secretsManagerApi(client: SecretsManagerClient): SecretsManagerApi {
  return {
    createSecret: (input) => client.send(new CreateSecretCommand(input)),
    putSecretValue: (input) => client.send(new PutSecretValueCommand(input)),
    getSecretValue: (input) => client.send(new GetSecretValueCommand(input)),
    deleteSecret: (input) => client.send(new DeleteSecretCommand(input)),
    restoreSecret: (input) => client.send(new RestoreSecretCommand(input)),
  };
}

export interface SecretsManagerStoreOptions {
  readonly api: SecretsManagerApi;
  /**
   * Prefix of every secret name; a name that already starts with it is kept as is.
   * @default 'flotilla'
   */
  readonly prefix?: string;
  /** A customer-managed KMS key (id, ARN or alias). @default the account's aws/secretsmanager key */
  readonly kmsKeyId?: string;
  /** Tags put on every secret Flotilla creates. @default { 'flotilla:managed': 'true' } */
  readonly tags?: Readonly<Record<string, string>>;
  /** Days a deleted secret can be restored (7–30). @default 7 */
  readonly recoveryWindowDays?: number;
}

/** Secrets Manager's name alphabet: ASCII letters, digits and `/_+=.@-`, at most 512. */
const NAME = /^[A-Za-z0-9/_+=.@-]{1,512}$/;

export class SecretsManagerSecretStore implements SecretStore {
  readonly #api: SecretsManagerApi;
  readonly #prefix: string;
  readonly #kmsKeyId: string | undefined;
  readonly #tags: Readonly<Record<string, string>>;
  readonly #recoveryWindowDays: number;

  constructor(options: SecretsManagerStoreOptions) {
    this.#api = options.api;
    this.#prefix = (options.prefix ?? 'flotilla').replace(/\/+$/, '');
    this.#kmsKeyId = options.kmsKeyId;
    this.#tags = options.tags ?? { 'flotilla:managed': 'true' };
    const days = options.recoveryWindowDays ?? 7;
    if (!Number.isInteger(days) || days < 7 || days > 30) {
      throw new ValidationError([
        { path: 'recoveryWindowDays', message: 'must be a whole number from 7 to 30' },
      ]);
    }
    this.#recoveryWindowDays = days;
  }

  /** The full Secrets Manager name a Flotilla name maps to. */
  nameOf(name: string): string {
    if (!this.#prefix || name === this.#prefix || name.startsWith(`${this.#prefix}/`)) return name;
    return `${this.#prefix}/${name}`;
  }

  async put(name: string, value: string): Promise<string> {
    const full = this.nameOf(name);
    if (!NAME.test(full)) {
      throw new ValidationError([
        {
          path: 'secret name',
          message: `"${full}" must be at most 512 ASCII letters, digits or /_+=.@- characters`,
        },
      ]);
    }
    if (value === '') throw new ValidationError([{ path: 'secret', message: 'must not be empty' }]);
    try {
      const created = await this.#api.createSecret({
        Name: full,
        SecretString: value,
        Description: 'Cluster credential kept by Flotilla',
        ...(this.#kmsKeyId ? { KmsKeyId: this.#kmsKeyId } : {}),
        Tags: Object.entries(this.#tags).map(([Key, Value]) => ({ Key, Value })),
      });
      return arnOrThrow(created.ARN, full);
    } catch (error) {
      const code = awsErrorName(error);
      if (code === 'ResourceExistsException') return this.#putNewVersion(full, value);
      if (code === 'InvalidRequestException' && isScheduledForDeletion(error)) {
        // A secret of this name is waiting out its recovery window: bring it back, then write.
        await this.#call(full, () => this.#api.restoreSecret({ SecretId: full }));
        return this.#putNewVersion(full, value);
      }
      throw translate(error, full);
    }
  }

  /** Secrets Manager takes a secret's name wherever it takes its ARN. */
  refOf(name: string): string {
    return this.nameOf(name);
  }

  async get(ref: string): Promise<string> {
    const out = await this.#call(ref, () => this.#api.getSecretValue({ SecretId: ref }));
    if (typeof out.SecretString === 'string') return out.SecretString;
    if (out.SecretBinary) return Buffer.from(out.SecretBinary).toString('utf8');
    throw new CredentialsError(`secret ${secretRefLabel(ref)} holds no value`);
  }

  async delete(ref: string): Promise<void> {
    try {
      await this.#api.deleteSecret({ SecretId: ref, RecoveryWindowInDays: this.#recoveryWindowDays });
    } catch (error) {
      // Already gone, or already scheduled for deletion: the outcome the caller wants.
      if (awsErrorName(error) === 'ResourceNotFoundException') return;
      if (awsErrorName(error) === 'InvalidRequestException' && isScheduledForDeletion(error)) return;
      throw translate(error, ref);
    }
  }

  async #putNewVersion(full: string, value: string): Promise<string> {
    const out = await this.#call(full, () =>
      this.#api.putSecretValue({ SecretId: full, SecretString: value }),
    );
    return arnOrThrow(out.ARN, full);
  }

  async #call<T>(ref: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      throw translate(error, ref);
    }
  }
}

function arnOrThrow(arn: string | undefined, name: string): string {
  if (!arn) throw new FlotillaError(`Secrets Manager returned no ARN for secret ${secretRefLabel(name)}`);
  return arn;
}

function isScheduledForDeletion(error: unknown): boolean {
  return error instanceof Error && /marked for deletion|scheduled for deletion/i.test(error.message);
}

/** An SDK error as a domain error naming the secret by its last segment only. */
export function translate(error: unknown, ref: string): Error {
  const label = secretRefLabel(ref);
  const code = awsErrorName(error);
  switch (code) {
    case 'ResourceNotFoundException':
      return new NotFoundError('secret', label);
    case 'AccessDeniedException':
    case 'DecryptionFailure':
    case 'KMSAccessDeniedException':
      return new CredentialsError(`access to secret ${label} was refused (${code})`, { cause: error });
    case 'InvalidParameterException':
    case 'InvalidRequestException':
      return new ValidationError([{ path: 'secret', message: `Secrets Manager refused ${label} (${code})` }]);
  }
  if (isRetryable(error)) {
    return new TransientError(`Secrets Manager is unavailable for secret ${label} (${code || 'error'})`, {
      cause: error,
    });
  }
  return new FlotillaError(`Secrets Manager failed for secret ${label} (${code || 'error'})`, {
    cause: error,
  });
}

/** The store with its SDK client, for the composition root. */
export function createSecretsManagerStore(
  options: {
    region: string;
    /** Credentials other than the function's own (a tenant's session). @default the function's */
    credentials?: AwsCredentialIdentityProvider;
  } & Omit<SecretsManagerStoreOptions, 'api'>,
): SecretsManagerSecretStore {
  const { region, credentials, ...rest } = options;
  return new SecretsManagerSecretStore({
    api: secretsManagerApi(new SecretsManagerClient({ region, ...(credentials ? { credentials } : {}) })),
    ...rest,
  });
}
