/**
 * Short-lived IAM tokens for the Kubernetes API of an EKS cluster, made the way `aws eks
 * get-token` makes them: a SigV4-presigned STS `GetCallerIdentity` URL that carries the
 * cluster's name in the signed `x-k8s-aws-id` header, base64url-encoded without padding and
 * prefixed `k8s-aws-v1.`. The API server's authenticator replays the URL against STS to learn
 * who signed it. Nothing is stored: a token is computed from the caller's credentials.
 */
import { Sha256 } from '@aws-crypto/sha256-js';
import { fromNodeProviderChain, fromTemporaryCredentials } from '@aws-sdk/credential-providers';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentityProvider } from '@smithy/types';
import { CredentialsError } from '../../domain/errors.ts';
import type { Clock } from '../../domain/ports.ts';

/** The prefix the aws-iam-authenticator (and EKS) expects on a token. */
export const EKS_TOKEN_PREFIX = 'k8s-aws-v1.';
/** The header binding a token to one cluster; it is signed, so a token is useless elsewhere. */
export const CLUSTER_ID_HEADER = 'x-k8s-aws-id';
/** Seconds the presigned URL itself asks for, as `aws eks get-token` does. */
export const PRESIGN_EXPIRES_SECONDS = 60;
/**
 * EKS accepts a token for 15 minutes after its signing time whatever `X-Amz-Expires` says;
 * like `aws eks get-token`, we announce one minute less so a clock skew never bites.
 */
export const TOKEN_LIFETIME_MS = 14 * 60_000;

export interface EksTokenRequest {
  readonly clusterName: string;
  readonly region: string;
  /** A role to assume first (cross-account clusters); the default credential chain otherwise. */
  readonly roleArn?: string;
}

export interface EksToken {
  /** `k8s-aws-v1.<base64url of the presigned URL>`. Secret: never log it. */
  readonly token: string;
  readonly signedAt: Date;
  readonly expiresAt: Date;
}

/** Anything that hands out EKS tokens (the signer below; a fake in tests). */
export interface EksTokenSource {
  token(request: EksTokenRequest): Promise<EksToken>;
}

/** Where credentials come from, per role (undefined = the caller's own identity) and region. */
export type CredentialsFor = (roleArn: string | undefined, region: string) => AwsCredentialIdentityProvider;

/**
 * The default: the SDK's credential chain (environment, web identity, container or instance
 * role — in Lambda the function's role), and STS AssumeRole on top of it for `roleArn`.
 */
export function defaultCredentialsFor(): CredentialsFor {
  const base = fromNodeProviderChain();
  const assumed = new Map<string, AwsCredentialIdentityProvider>();
  return (roleArn, region) => {
    if (!roleArn) return base;
    const key = `${roleArn}@${region}`;
    let provider = assumed.get(key);
    if (!provider) {
      provider = fromTemporaryCredentials({
        masterCredentials: base,
        params: { RoleArn: roleArn, RoleSessionName: 'flotilla', DurationSeconds: 3600 },
        clientConfig: { region },
      });
      assumed.set(key, provider);
    }
    return provider;
  };
}

/** The STS host of a region (`amazonaws.com.cn` in the China partition). */
export function stsHost(region: string): string {
  const suffix = region.startsWith('cn-') ? 'amazonaws.com.cn' : 'amazonaws.com';
  return `sts.${region}.${suffix}`;
}

const REGION = /^[a-z]{2}(-[a-z]+)+-\d+$/;

function toBase64Url(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64url');
}

export interface EksTokenSignerOptions {
  /** @default defaultCredentialsFor() */
  readonly credentialsFor?: CredentialsFor;
  /** Signing time. @default the system clock */
  readonly clock?: Clock;
}

/** Signs EKS tokens locally (no network call besides fetching credentials). */
export class EksTokenSigner implements EksTokenSource {
  readonly #credentialsFor: CredentialsFor;
  readonly #clock: Clock;

  constructor(options: EksTokenSignerOptions = {}) {
    this.#credentialsFor = options.credentialsFor ?? defaultCredentialsFor();
    this.#clock = options.clock ?? { now: () => new Date() };
  }

  async token(request: EksTokenRequest): Promise<EksToken> {
    const { clusterName, region } = request;
    if (!clusterName) throw new CredentialsError('an EKS token needs a cluster name');
    if (!REGION.test(region)) {
      throw new CredentialsError(
        `cannot sign an EKS token for cluster "${clusterName}": bad region "${region}"`,
      );
    }
    const signer = new SignatureV4({
      service: 'sts',
      region,
      sha256: Sha256,
      credentials: this.#credentialsFor(request.roleArn, region),
    });
    const host = stsHost(region);
    const signedAt = this.#clock.now();
    let presigned: Awaited<ReturnType<SignatureV4['presign']>>;
    try {
      presigned = await signer.presign(
        {
          method: 'GET',
          protocol: 'https:',
          hostname: host,
          path: '/',
          query: { Action: 'GetCallerIdentity', Version: '2011-06-15' },
          // Both headers are signed; x-k8s-aws-id does not start with x-amz-, so presigning keeps
          // it a header instead of hoisting it into the query string.
          headers: { host, [CLUSTER_ID_HEADER]: clusterName },
        },
        { expiresIn: PRESIGN_EXPIRES_SECONDS, signingDate: signedAt },
      );
    } catch (error) {
      const reason = error instanceof Error ? error.name : 'unknown error';
      throw new CredentialsError(
        `no AWS credentials to sign an EKS token for cluster "${clusterName}" (${reason})`,
        { cause: error },
      );
    }
    const url = `https://${host}/?${new URLSearchParams(flattenQuery(presigned.query)).toString()}`;
    return {
      token: `${EKS_TOKEN_PREFIX}${toBase64Url(url)}`,
      signedAt,
      expiresAt: new Date(signedAt.getTime() + TOKEN_LIFETIME_MS),
    };
  }
}

function flattenQuery(query: Record<string, string | Array<string> | null> | undefined): [string, string][] {
  const pairs: [string, string][] = [];
  for (const [key, value] of Object.entries(query ?? {})) {
    if (value === null) continue;
    for (const v of Array.isArray(value) ? value : [value]) pairs.push([key, v]);
  }
  return pairs;
}

/** What a token says, for tests and diagnostics; the signature itself is not checked. */
export interface DecodedEksToken {
  readonly url: URL;
  readonly host: string;
  readonly query: URLSearchParams;
}

/** Decode a `k8s-aws-v1.` token back into its presigned URL. */
export function decodeEksToken(token: string): DecodedEksToken {
  if (!token.startsWith(EKS_TOKEN_PREFIX)) throw new CredentialsError('not an EKS token');
  const url = new URL(Buffer.from(token.slice(EKS_TOKEN_PREFIX.length), 'base64url').toString('utf8'));
  return { url, host: url.host, query: url.searchParams };
}
