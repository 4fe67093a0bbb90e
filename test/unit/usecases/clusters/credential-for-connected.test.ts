/**
 * Giving a connected (or discovered) cluster a credential by importing a kubeconfig over its
 * record: the credential replaces the connector-only auth, and the cluster keeps its cloud
 * identity (the ARN discovery and disconnect match it by).
 */
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { Capabilities } from '../../../../domain/model.ts';
import { DEFAULT_TENANT } from '../../../../domain/names.ts';
import { lacksCredential } from '../../../../domain/placement.ts';
import { importClusters } from '../../../../usecases/clusters/index.ts';
import { clusterDeps, node } from './fakes.ts';

const ARN = 'arn:aws:eks:eu-west-1:111122223333:cluster/edge-aks';

describe('importing a credential for a connected cluster', () => {
  it('replaces its connector-only auth and keeps its ARN', async () => {
    // Prepare: the record connect leaves behind.
    const deps = clusterDeps();
    await deps.store.createCluster({
      tenant: 'default',
      name: 'edge-aks',
      provider: 'AKS',
      region: 'eu-west-1',
      version: 'unknown',
      labels: { site: 'paris' },
      capabilities: Capabilities.parse({}),
      endpoint: '',
      auth: { type: 'eks', clusterName: 'edge-aks', region: 'eu-west-1' },
      status: 'Pending',
      source: 'connector',
      arn: ARN,
      createdAt: '2026-01-01T00:00:00Z',
      updatedAt: '2026-01-01T00:00:00Z',
      recordVersion: 0,
    });
    const before = await deps.store.getCluster('edge-aks');
    expect(before && lacksCredential(before)).toBe(true);
    deps.clusters.servers.set('https://aks.example', {
      nodes: [
        node('n1', { 'kubernetes.azure.com/cluster': 'edge', 'topology.kubernetes.io/region': 'westeurope' }),
      ],
    });
    const kubeconfig = stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [
        { name: 'edge', cluster: { server: 'https://aks.example', 'certificate-authority-data': 'Q0E=' } },
      ],
      users: [{ name: 'edge', user: { token: 'sa-token' } }],
      contexts: [{ name: 'edge', context: { cluster: 'edge', user: 'edge' } }],
    });

    // Act
    const result = await importClusters(
      deps,
      {
        kubeconfig,
        contexts: ['edge'],
        name: 'edge-aks',
        labels: {},
      },
      { tenant: DEFAULT_TENANT },
    );

    // Assess
    expect(result.failed).toEqual([]);
    const cluster = await deps.store.getCluster('edge-aks');
    expect(cluster?.arn).toBe(ARN);
    expect(cluster?.auth.type).toBe('token');
    expect(cluster?.status).toBe('Active');
    expect(cluster?.labels).toEqual({ site: 'paris' });
    expect(cluster && lacksCredential(cluster)).toBe(false);
  });
});
