/**
 * Running cluster discovery on demand: a route of the clusters API group (served by
 * functions/api/clusters.ts), thin over usecases/discovery/start-discovery. The run is the same
 * discovery workflow the schedule starts; follow it at `GET /executions/{id}`.
 */
import { z } from 'zod';
import { accepted } from '../../adapters/lambda/http-response.ts';
import { defineRoute, type Route } from '../../adapters/lambda/http-router.ts';
import type { DepsProvider } from '../../usecases/deps.ts';
import { startDiscovery } from '../../usecases/discovery/start-discovery.ts';

/** What starting a discovery answers. */
export const DiscoveryStarted = z
  .object({
    executionId: z.string().meta({ description: 'Follow it at GET /executions/{id}' }),
    regions: z.array(z.string()).meta({ description: 'The regions it looks in (the configured ones)' }),
  })
  .meta({ id: 'DiscoveryStarted' });

/** The discover route (mounted in the clusters group). */
export function discoveryRoutes(deps: DepsProvider): Route[] {
  return [
    defineRoute({
      method: 'POST',
      path: '/clusters/discover',
      operationId: 'discoverClusters',
      summary: 'Run cluster discovery now',
      description:
        'Starts the discovery workflow the schedule runs: EKS clusters (connected ones included) of every ' +
        'configured region are listed and described; new ones are registered, known ones refreshed, vanished ' +
        'ones marked (nothing is deleted). 409 while another discovery runs; 501 where Flotilla does not run ' +
        'on AWS.',
      tags: ['clusters'],
      access: 'discover-clusters',
      responses: {
        202: { description: 'Started', schema: DiscoveryStarted },
        409: { description: 'A discovery is already running' },
        501: { description: 'No EKS discovery here (Flotilla is not running on AWS)' },
      },
      handle: async () => accepted(await startDiscovery(await deps())),
    }),
  ];
}
