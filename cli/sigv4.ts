/**
 * Signing CLI requests for a Flotilla API deployed with IAM auth (the CDK construct's default):
 * API Gateway then wants every request signed with SigV4 for `execute-api`. The CLI signs when
 * the API is an `execute-api` endpoint and no bearer token was given, with the AWS credentials
 * of the environment (the same chain the AWS CLI uses: variables, profile, SSO, role).
 */
import { Sha256 } from '@aws-crypto/sha256-js';
import { fromNodeProviderChain } from '@aws-sdk/credential-providers';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentityProvider } from '@smithy/types';
import { CliError, oneLine } from './errors.ts';

const EXECUTE_API = /^[a-z0-9]+\.execute-api\.([a-z]{2}(?:-[a-z]+)+-\d+)\.amazonaws\.com(?:\.cn)?$/;

/** The region of an API Gateway endpoint URL, or undefined when it is not one. */
export function executeApiRegion(url: string): string | undefined {
  try {
    return EXECUTE_API.exec(new URL(url).hostname)?.[1];
  } catch {
    return undefined;
  }
}

export interface SignOptions {
  readonly region: string;
  /** @default the Node credential provider chain */
  readonly credentials?: AwsCredentialIdentityProvider;
  /** @default now */
  readonly signingDate?: Date;
}

/** The headers of a request with its SigV4 signature for `execute-api` added. */
export async function signedHeaders(
  method: string,
  url: string,
  headers: Readonly<Record<string, string>>,
  body: string | undefined,
  options: SignOptions,
): Promise<Record<string, string>> {
  const target = new URL(url);
  const query: Record<string, string> = {};
  for (const [key, value] of target.searchParams) query[key] = value;
  const signer = new SignatureV4({
    service: 'execute-api',
    region: options.region,
    sha256: Sha256,
    credentials: options.credentials ?? fromNodeProviderChain(),
  });
  try {
    const signed = await signer.sign(
      {
        method,
        protocol: target.protocol,
        hostname: target.hostname,
        path: target.pathname,
        query,
        headers: { ...headers, host: target.host },
        ...(body !== undefined ? { body } : {}),
      },
      options.signingDate ? { signingDate: options.signingDate } : {},
    );
    const out: Record<string, string> = {};
    for (const [key, value] of Object.entries(signed.headers)) if (key !== 'host') out[key] = String(value);
    return out;
  } catch (error) {
    throw new CliError(
      `the API at ${target.host} takes requests signed with AWS credentials, and none were found (${oneLine(error)}); set AWS_PROFILE or pass --token`,
    );
  }
}
