/**
 * The API's resource groups: one handler module (and one Lambda function on AWS) per group, each
 * owning the paths under its prefix. The local API server dispatches on the prefix; the OpenAPI
 * document lists every group's routes.
 */
import type { Route } from '../../adapters/lambda/http-router.ts';
import type { DepsProvider } from '../../usecases/deps.ts';
import { agentSelfRoutes } from './agent.ts';
import { agentRoutes } from './agents.ts';
import { bundleRoutes } from './bundles.ts';
import { clusterRoutes } from './clusters.ts';
import { deploymentRoutes } from './deployments.ts';
import { driftRoutes } from './drift.ts';
import { eventRoutes } from './events.ts';
import { executionRoutes } from './executions.ts';
import { scheduleRoutes } from './schedules.ts';
import { serviceRoutes } from './services.ts';
import { tenancyRoutes } from './tenants.ts';

/** One resource group: its first path segment and its routes. */
export interface RouteGroup {
  readonly prefix: string;
  /** Further first path segments the same handler serves. */
  readonly also?: readonly string[];
  readonly routes: (deps: DepsProvider) => Route[];
  /**
   * Callers are agents with their own credential (a bootstrap token, an identity) that the
   * handler checks, not operators: no operator auth in front of these routes.
   */
  readonly agentFacing?: true;
}

/** Every group except the OpenAPI document itself (functions/api/openapi.ts). */
export const API_ROUTE_GROUPS: readonly RouteGroup[] = [
  { prefix: 'clusters', routes: clusterRoutes },
  { prefix: 'services', routes: serviceRoutes },
  { prefix: 'deployments', routes: deploymentRoutes },
  { prefix: 'executions', routes: executionRoutes },
  { prefix: 'drift', routes: driftRoutes },
  { prefix: 'schedules', routes: scheduleRoutes },
  { prefix: 'events', routes: eventRoutes },
  { prefix: 'agents', routes: agentRoutes },
  { prefix: 'tenants', also: ['tokens', 'cluster-sets', 'me'], routes: tenancyRoutes },
  { prefix: 'agent', routes: agentSelfRoutes, agentFacing: true },
  { prefix: 'bundles', routes: bundleRoutes },
];
