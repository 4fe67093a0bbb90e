/**
 * The EKS Connector: RegisterCluster (a non-EKS cluster becomes visible in the EKS console once
 * its agent is running) and DeregisterCluster. The activation code RegisterCluster returns is a
 * one-time secret for the user: it is handed back with the manifests and kept nowhere.
 */
import type { ConnectorConfigProvider } from '@aws-sdk/client-eks';
import type { ConnectorRegistration } from '../../domain/discovery.ts';
import { AlreadyExistsError, FlotillaError, TransientError, ValidationError } from '../../domain/errors.ts';
import type { KubeObject } from '../../domain/model.ts';
import type { ClusterConnector, ConnectorRequest } from '../../domain/ports.ts';
import { awsErrorName, isRetryable, type RetryOptions, withRetry } from './aws-errors.ts';
import { connectorManifests } from './connector-manifests.ts';
import { reasonOf } from './discovery.ts';
import { type EksApi, type EksApiFactory, eksApiFactory } from './eks-api.ts';

export interface EksConnectorOptions {
  /** The EKS API per region. */
  readonly api: EksApiFactory;
  /** The region registrations are made in. */
  readonly region: string;
  /** Images for the agent (mirrored registries). */
  readonly images?: { readonly connector?: string; readonly agent?: string };
  readonly retry?: RetryOptions;
}

export class EksConnector implements ClusterConnector {
  readonly region: string;
  readonly #api: EksApiFactory;
  readonly #images: EksConnectorOptions['images'];
  readonly #retry: RetryOptions;

  constructor(options: EksConnectorOptions) {
    this.#api = options.api;
    this.region = options.region;
    this.#images = options.images;
    this.#retry = options.retry ?? {};
  }

  async register(
    request: ConnectorRequest,
  ): Promise<{ registration: ConnectorRegistration; manifests: KubeObject[] }> {
    let cluster: Awaited<ReturnType<EksApi['registerCluster']>>['cluster'];
    // One token per call, the same on its retries: EKS registers once even when a retry follows
    // a response that was lost.
    const clientRequestToken = `flotilla-${crypto.randomUUID()}`;
    try {
      const out = await withRetry(
        () =>
          this.#api(this.region).registerCluster({
            name: request.name,
            connectorConfig: {
              provider: request.provider as ConnectorConfigProvider,
              roleArn: request.roleArn,
            },
            clientRequestToken,
            tags: { 'flotilla:managed': 'true', ...request.tags },
          }),
        // ResourcePropagationDelay: the connector's service-linked role was just created.
        {
          ...this.#retry,
          retryable: (e) => isRetryable(e) || awsErrorName(e) === 'ResourcePropagationDelayException',
        },
      );
      cluster = out.cluster;
    } catch (error) {
      throw translate(error, request.name);
    }
    const config = cluster?.connectorConfig;
    if (!cluster?.arn || !config?.activationId || !config.activationCode) {
      throw new FlotillaError(`EKS registered "${request.name}" but returned no activation`);
    }
    const registration: ConnectorRegistration = {
      name: request.name,
      arn: cluster.arn,
      region: this.region,
      provider: request.provider,
      roleArn: request.roleArn,
      activationId: config.activationId,
      activationCode: config.activationCode,
      ...(config.activationExpiry ? { activationExpiry: config.activationExpiry.toISOString() } : {}),
    };
    const manifests = connectorManifests({
      activationId: registration.activationId,
      activationCode: registration.activationCode,
      region: this.region,
      consoleUsers: request.consoleUsers,
      ...(this.#images ? { images: this.#images } : {}),
    });
    return { registration, manifests };
  }

  async deregister(name: string, region = this.region): Promise<boolean> {
    try {
      await withRetry(() => this.#api(region).deregisterCluster({ name }), this.#retry);
      return true;
    } catch (error) {
      if (awsErrorName(error) === 'ResourceNotFoundException') return false;
      throw translate(error, name);
    }
  }
}

function translate(error: unknown, name: string): Error {
  const code = awsErrorName(error);
  switch (code) {
    case 'ResourceInUseException':
      return new AlreadyExistsError('EKS cluster registration', name);
    case 'InvalidParameterException':
    case 'InvalidRequestException':
    case 'ClientException':
      return new ValidationError([
        { path: 'name', message: `EKS refused the registration of "${name}": ${reasonOf(error)}` },
      ]);
    case 'ResourceLimitExceededException':
      return new ValidationError([
        { path: 'name', message: `the account's limit of registered clusters is reached (${code})` },
      ]);
  }
  if (isRetryable(error) || code === 'ResourcePropagationDelayException') {
    return new TransientError(`EKS is unavailable for "${name}" (${code || 'error'}); try again`, {
      cause: error,
    });
  }
  return new FlotillaError(`EKS failed for "${name}": ${reasonOf(error)}`, { cause: error });
}

/** The connector with one SDK client per region, for the composition root. */
export function createEksConnector(options: Omit<EksConnectorOptions, 'api'>): EksConnector {
  return new EksConnector({ api: eksApiFactory(), ...options });
}
