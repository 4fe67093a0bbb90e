/**
 * A cluster known only through the EKS Connector has no credential Flotilla can deploy with: the
 * placement leaves it out as unfit, with the reason, instead of letting the apply fail.
 */
import { describe, expect, it } from 'vitest';
import { Capabilities, type Cluster } from '../../../domain/model.ts';
import { lacksCredential, NO_CREDENTIAL_REASON, place } from '../../../domain/placement.ts';

function cluster(name: string, over: Partial<Cluster>): Cluster {
  return {
    tenant: 'default',
    name,
    provider: 'EKS',
    region: 'eu-west-1',
    version: '1.32',
    labels: { env: 'prod' },
    capabilities: Capabilities.parse({}),
    endpoint: 'https://ABC.gr7.eu-west-1.eks.amazonaws.com',
    auth: { type: 'eks', clusterName: name, region: 'eu-west-1' },
    status: 'Active',
    source: 'discovery',
    createdAt: '2030-01-01T00:00:00Z',
    updatedAt: '2030-01-01T00:00:00Z',
    recordVersion: 1,
    ...over,
  };
}

describe('a cluster without a credential', () => {
  it.each<[string, Partial<Cluster>, boolean]>([
    ['an EKS cluster reached with IAM tokens', {}, false],
    ['an EKS cluster discovered before its endpoint exists', { endpoint: '', status: 'Pending' }, false],
    [
      'a cluster connected through the connector',
      { provider: 'AKS', endpoint: '', source: 'connector', status: 'Pending' },
      true,
    ],
    ['a connected cluster found by discovery', { provider: 'GKE', endpoint: '', status: 'Pending' }, true],
    [
      'a connected cluster once a token is registered',
      {
        provider: 'AKS',
        endpoint: 'https://aks.example',
        source: 'import',
        auth: { type: 'token', secretRef: 'arn:x' },
      },
      false,
    ],
    [
      'a connected cluster given a kubeconfig',
      { provider: 'OPENSHIFT', source: 'connector', auth: { type: 'kubeconfig', secretRef: 'arn:y' } },
      false,
    ],
  ])('%s: lacks a credential = %s', (_name, over, expected) => {
    expect(lacksCredential(cluster('c', over))).toBe(expected);
  });

  it('is placed as unfit with the reason, and the others are selected', () => {
    const decision = place(
      [
        cluster('eks-prod', {}),
        cluster('edge-aks', { provider: 'AKS', endpoint: '', source: 'connector', status: 'Pending' }),
      ],
      { selector: { matchLabels: { env: 'prod' } } },
    );

    expect(decision.selected.map((c) => c.name)).toEqual(['eks-prod']);
    expect(decision.unfit).toEqual([{ cluster: 'edge-aks', reasons: [NO_CREDENTIAL_REASON] }]);
    expect(NO_CREDENTIAL_REASON).toMatch(/^no credential registered/);
  });
});
