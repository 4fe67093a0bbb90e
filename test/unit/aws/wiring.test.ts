/**
 * The AWS composition root: from the environment the CDK construct sets, every port gets its AWS
 * adapter (nothing is called until used), and a missing variable fails naming it.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { IotAgentChannel } from '../../../adapters/agent/iot-channel.ts';
import { IotAgentIdentities } from '../../../adapters/agent/iot-identities.ts';
import { DynamoStore } from '../../../adapters/dynamodb/store.ts';
import { EksConnector } from '../../../adapters/eks/connector.ts';
import { EksDiscovery } from '../../../adapters/eks/discovery.ts';
import { EventBridgeBus } from '../../../adapters/eventbridge/bus.ts';
import { KubernetesGateway } from '../../../adapters/kubernetes/gateway.ts';
import { S3BlobStore } from '../../../adapters/s3/blob-store.ts';
import { EventBridgeScheduler } from '../../../adapters/scheduler/eventbridge-scheduler.ts';
import { SecretsManagerSecretStore } from '../../../adapters/secrets/secrets-manager.ts';
import { StepFunctionsEngine } from '../../../adapters/sfn/engine.ts';

const ENV = {
  AWS_REGION: 'eu-west-1',
  FLOTILLA_TABLE: 'Flotilla-Table',
  FLOTILLA_BUCKET: 'flotilla-blobs',
  FLOTILLA_EVENT_BUS: 'Flotilla-Bus',
  FLOTILLA_DEPLOY_STATE_MACHINE: 'arn:aws:states:eu-west-1:111122223333:stateMachine:Flotilla-deploy',
  FLOTILLA_DISCOVERY_STATE_MACHINE: 'arn:aws:states:eu-west-1:111122223333:stateMachine:Flotilla-discovery',
  FLOTILLA_DISCOVERY_REGIONS: 'eu-west-1, us-east-1',
  FLOTILLA_CONNECTOR_ROLE_ARN: 'arn:aws:iam::111122223333:role/connector',
  FLOTILLA_SCHEDULE_GROUP: 'Flotilla',
  FLOTILLA_SCHEDULE_TARGET_ARN: 'arn:aws:lambda:eu-west-1:111122223333:function:Flotilla-schedule-fire',
  FLOTILLA_SCHEDULER_ROLE_ARN: 'arn:aws:iam::111122223333:role/scheduler',
  FLOTILLA_RETENTION_DAYS: '30',
};

/** A fresh copy of wiring.ts (it caches what it built for the life of the process). */
async function wiring() {
  vi.resetModules();
  return import('../../../adapters/wiring.ts');
}

beforeEach(() => {
  for (const [key, value] of Object.entries(ENV)) vi.stubEnv(key, value);
});
afterEach(() => vi.unstubAllEnvs());

describe('the AWS dependencies', () => {
  it('give every port its AWS adapter, from the environment', async () => {
    const deps = await (await wiring()).awsDependencies();

    expect(deps.store.constructor.name).toBe(DynamoStore.name);
    expect(deps.blobs.constructor.name).toBe(S3BlobStore.name);
    expect(deps.secrets.constructor.name).toBe(SecretsManagerSecretStore.name);
    expect(deps.clusters.constructor.name).toBe(KubernetesGateway.name);
    expect(deps.bus.constructor.name).toBe(EventBridgeBus.name);
    expect(deps.workflows.constructor.name).toBe(StepFunctionsEngine.name);
    expect(deps.discovery?.constructor.name).toBe(EksDiscovery.name);
    expect(deps.connector?.constructor.name).toBe(EksConnector.name);
    expect(deps.connector?.region).toBe('eu-west-1');
    expect(deps.scheduler?.constructor.name).toBe(EventBridgeScheduler.name);
    expect(deps.discoveryRegions).toEqual(['eu-west-1', 'us-east-1']);
    expect(deps.connectorRoleArn).toBe(ENV.FLOTILLA_CONNECTOR_ROLE_ARN);
    expect(deps.ids.next()).toMatch(/^[0-7][0-9A-HJKMNP-TV-Z]{25}$/);
  });

  it('acts for a tenant through the tenant data role when the stack names it, and with its own role otherwise', async () => {
    const none = await (await wiring()).awsDependencies();
    expect(none.forTenant).toBeUndefined();

    vi.stubEnv('FLOTILLA_TENANT_DATA_ROLE_ARN', 'arn:aws:iam::111122223333:role/Flotilla-TenantDataRole');
    const deps = await (await wiring()).awsDependencies();
    const alpha = deps.forTenant?.('alpha');
    expect(alpha?.store).not.toBe(deps.store);
    expect(alpha?.secrets).not.toBe(deps.secrets);
    expect(alpha?.secrets.constructor.name).toBe(SecretsManagerSecretStore.name);
    // Nothing else changes: the bus, the workflows and cluster access stay the function's own.
    expect(alpha?.bus).toBe(deps.bus);
    expect(alpha?.clusters).toBe(deps.clusters);
    expect(deps.forTenant?.('alpha')).toBe(alpha);
    // The platform never gets a session (its tag would open the tokens).
    expect(() => deps.forTenant?.('_platform')).toThrow(/acts with its own role/);
  });

  it('builds once per cold start', async () => {
    const { awsDependencies } = await wiring();
    expect(await awsDependencies()).toBe(await awsDependencies());
  });

  it('makes the renderer only when something renders (helm lives in the layer of a few functions)', async () => {
    const deps = await (await wiring()).awsDependencies();
    // A stand-in that makes the helm renderer on first use (a HelmRenderer has no own keys).
    expect(Object.keys(deps.renderer).sort()).toEqual(['ingest', 'render']);
  });

  it('defaults discovery to its own region, and leaves the scheduler out without its target', async () => {
    vi.stubEnv('FLOTILLA_DISCOVERY_REGIONS', undefined);
    vi.stubEnv('FLOTILLA_SCHEDULE_TARGET_ARN', undefined);
    const deps = await (await wiring()).awsDependencies();
    expect(deps.discoveryRegions).toEqual(['eu-west-1']);
    expect(deps.scheduler).toBeUndefined();
  });

  it('gives agents the IoT Core channel and certificate identities when the stack sets them up', async () => {
    const none = await (await wiring()).awsDependencies();
    expect(none.agents).toBeUndefined();
    expect(none.agentIdentities).toBeUndefined();

    vi.stubEnv('FLOTILLA_API_URL', 'https://abc123.execute-api.eu-west-1.amazonaws.com/');
    vi.stubEnv('FLOTILLA_IOT_ENDPOINT', 'a1b2c3-ats.iot.eu-west-1.amazonaws.com');
    vi.stubEnv('FLOTILLA_IOT_POLICY', 'Flotilla-AgentPolicy-1A2B');
    vi.stubEnv('FLOTILLA_IOT_THING_PREFIX', 'Flotilla');
    vi.stubEnv('FLOTILLA_AGENT_HEARTBEAT_SECONDS', '300');
    vi.stubEnv('FLOTILLA_AGENT_DARK_AFTER_SECONDS', '900');
    const deps = await (await wiring()).awsDependencies();

    expect(deps.agents?.constructor.name).toBe(IotAgentChannel.name);
    expect(deps.agentIdentities?.constructor.name).toBe(IotAgentIdentities.name);
    expect(deps.agents?.endpoints()).toEqual({
      api: 'https://abc123.execute-api.eu-west-1.amazonaws.com',
      channel: 'mqtts://a1b2c3-ats.iot.eu-west-1.amazonaws.com:443',
    });
    expect(deps.tunables.agentHeartbeatSeconds).toBe(300);
    expect(deps.tunables.agentDarkAfterSeconds).toBe(900);
  });

  it('fails naming what the IoT endpoint needs besides it', async () => {
    vi.stubEnv('FLOTILLA_IOT_ENDPOINT', 'a1b2c3-ats.iot.eu-west-1.amazonaws.com');
    vi.stubEnv('FLOTILLA_IOT_THING_PREFIX', 'Flotilla');
    const { awsDependencies } = await wiring();
    const error = await Promise.resolve()
      .then(() => awsDependencies())
      .catch((e: unknown) => e);
    expect(String((error as Error).message)).toMatch(
      /environment\.FLOTILLA_API_URL: is required with FLOTILLA_IOT_ENDPOINT/,
    );
    expect(String((error as Error).message)).toMatch(/environment\.FLOTILLA_IOT_POLICY/);
  });

  it('fails naming the variable that is missing, and tries again on the next call', async () => {
    vi.stubEnv('FLOTILLA_TABLE', undefined);
    const { awsDependencies } = await wiring();
    await expect(async () => awsDependencies()).rejects.toThrow(/environment\.FLOTILLA_TABLE/);
    vi.stubEnv('FLOTILLA_TABLE', 'Flotilla-Table');
    expect((await awsDependencies()).store).toBeDefined();
  });
});
