/**
 * `flotilla clusters register NAME --agent --provider P` for a non-EKS cluster: the agent's
 * manifests and the EKS Connector's in one file that the real `kubectl` applies (server-side
 * dry run, then for real) to a simulated cluster, and the agent started from what was applied
 * enrols and makes the cluster Active.
 *
 * One control plane has an EKS connector (the real adapter; its SDK client mocked with
 * aws-sdk-client-mock, as on AWS with RegisterCluster answering), one has none (as `flotilla
 * up`): there the command says plainly that no connector manifests are included, renders them
 * from an activation the user made with `aws eks register-cluster`, or skips them when told to.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { DeregisterClusterCommand, EKSClient, RegisterClusterCommand } from '@aws-sdk/client-eks';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { EksConnector } from '../../../adapters/eks/connector.ts';
import { eksApiFactory } from '../../../adapters/eks/eks-api.ts';
import { layerBinaries } from '../../../adapters/tools/layer-binaries.ts';
import { DEFAULT_TENANT } from '../../../domain/names.ts';
import { type ControlPlane, startControlPlane } from '../../../local/control-plane.ts';
import type { Simulator } from '../../../simulator/index.ts';
import { type CliRun, FLOTILLA_BIN, NODE, runFlotilla } from '../helpers/cli.ts';

const ACCOUNT = '111122223333';
const ROLE = `arn:aws:iam::${ACCOUNT}:role/Flotilla-ConnectorAgentRole`;
const VIEWER = `arn:aws:iam::${ACCOUNT}:role/platform-admins`;
const CODE = 'Wz3+ONE-time-ACTIVATION/code=';
const USER_CODE = 'Ux9+made-by-aws-cli/code=';

const eks = mockClient(EKSClient);
eks.on(RegisterClusterCommand).callsFake(async (input: { name: string }) => ({
  cluster: {
    name: input.name,
    arn: `arn:aws:eks:eu-west-1:${ACCOUNT}:cluster/${input.name}`,
    status: 'PENDING',
    connectorConfig: {
      activationId: `act-${input.name}`,
      activationCode: CODE,
      activationExpiry: new Date('2030-01-04T00:00:00.000Z'),
      provider: 'AKS',
      roleArn: ROLE,
    },
  },
}));
eks.on(DeregisterClusterCommand).resolves({});

let aws: ControlPlane;
let local: ControlPlane;
let sim: Simulator;
let home: string;
let agent: ChildProcess | undefined;
let agentLog = '';

beforeAll(async () => {
  home = mkdtempSync(join(tmpdir(), 'flotilla-agent-register-'));
  aws = await startControlPlane({
    simulate: 1,
    connector: new EksConnector({
      api: eksApiFactory(),
      region: 'eu-west-1',
      retry: { sleep: async () => undefined, random: () => 0 },
    }),
    connectorRoleArn: ROLE,
    tunables: { agentHeartbeatSeconds: 1 },
  });
  local = await startControlPlane({ simulate: 0 });
  if (!aws.simulator) throw new Error('no simulator');
  sim = aws.simulator;
}, 120_000);

afterAll(async () => {
  if (agent && agent.exitCode === null) {
    const exited = new Promise((r) => agent?.once('exit', r));
    agent.kill('SIGTERM');
    await exited;
  }
  await aws?.stop();
  await local?.stop();
  eks.restore();
  if (home) rmSync(home, { recursive: true, force: true });
});

function flotilla(plane: ControlPlane, args: string[], env: Record<string, string> = {}): Promise<CliRun> {
  return runFlotilla(args, {
    cwd: home,
    env: {
      ...process.env,
      FLOTILLA_HOME: home,
      FLOTILLA_API: plane.url,
      FLOTILLA_TOKEN: plane.token,
      FLOTILLA_TENANT: DEFAULT_TENANT,
      ...env,
    },
    timeoutMs: 60_000,
  });
}

const contexts = new Map<string, string>();

/** The real kubectl against one simulated cluster (added on first use; a kubeconfig of it alone). */
async function kube(cluster: string, args: string[]): Promise<string> {
  const kubeconfig = join(home, `${cluster}.kubeconfig`);
  let context = contexts.get(cluster);
  if (!context) {
    context = sim.addCluster({ name: cluster, provider: 'AKS', region: 'paris', version: '1.32' }).context;
    writeFileSync(kubeconfig, sim.kubeconfig({ clusters: [cluster] }), { mode: 0o600 });
    contexts.set(cluster, context);
  }
  const { stdout } = await promisify(execFile)(
    layerBinaries().kubectl,
    ['--kubeconfig', kubeconfig, '--context', context, ...args],
    { encoding: 'utf8', env: { PATH: process.env.PATH, HOME: home } },
  );
  return stdout;
}

interface Manifest {
  kind: string;
  metadata: { name: string; namespace?: string };
  data?: Record<string, string>;
  stringData?: Record<string, string>;
}

function objectsOf(yaml: string): Manifest[] {
  return parseAllDocuments(yaml)
    .map((d) => d.toJS() as Manifest | null)
    .filter((o): o is Manifest => o !== null);
}

function secret(objects: Manifest[], name: string): Record<string, string> {
  const found = objects.find((o) => o.kind === 'Secret' && o.metadata.name === name);
  if (!found) throw new Error(`no Secret ${name}`);
  if (found.stringData) return found.stringData;
  return Object.fromEntries(
    Object.entries(found.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]),
  );
}

describe('register --agent on a control plane with an EKS connector', () => {
  const file = () => join(home, 'edge-aks.yaml');

  it('registers the cluster with EKS and writes the agent and connector manifests in one 0600 file', async () => {
    const run = await flotilla(aws, [
      'clusters',
      'register',
      'edge-aks',
      '--agent',
      '--provider',
      'AKS',
      '--region',
      'paris',
      '--console-user',
      VIEWER,
      '-f',
      file(),
    ]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(
      `# EKS Connector: edge-aks registered as arn:aws:eks:eu-west-1:${ACCOUNT}:cluster/edge-aks (activation act-edge-aks, apply before 2030-01-04T00:00:00.000Z)`,
    );
    expect(run.stdout).toContain(`kubectl apply -f ${file()}`);
    expect(eks).toHaveReceivedCommandWith(RegisterClusterCommand, {
      name: 'edge-aks',
      connectorConfig: { provider: 'AKS', roleArn: ROLE },
    });
    expect(statSync(file()).mode & 0o777).toBe(0o600);

    const objects = objectsOf(readFileSync(file(), 'utf8'));
    const names = objects.map((o) => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`);
    expect(names).toEqual(
      expect.arrayContaining([
        'Namespace//flotilla-agent',
        'Deployment/flotilla-agent/flotilla-agent',
        'Secret/flotilla-agent/flotilla-agent-bootstrap',
        'Namespace//eks-connector',
        'ServiceAccount/eks-connector/eks-connector',
        'Secret/eks-connector/eks-connector-activation-config',
        'StatefulSet/eks-connector/eks-connector',
        'ClusterRole//eks-connector-console-view',
        'ClusterRoleBinding//eks-connector-console-view',
      ]),
    );
    expect(secret(objects, 'eks-connector-activation-config')).toEqual({ id: 'act-edge-aks', code: CODE });
    // The code is in that Secret and nowhere else: not in what the command printed, not in the
    // record, not in the events.
    const others = objects.filter((o) => o.metadata.name !== 'eks-connector-activation-config');
    expect(JSON.stringify(others)).not.toContain(CODE);
    expect(JSON.stringify(others)).not.toContain(Buffer.from(CODE).toString('base64'));
    expect(run.stdout + run.stderr).not.toContain(CODE);
    const cluster = await aws.deps.store.getCluster('edge-aks');
    expect(cluster).toMatchObject({
      arn: `arn:aws:eks:eu-west-1:${ACCOUNT}:cluster/edge-aks`,
      auth: { type: 'agent', agent: 'edge-aks' },
      status: 'Pending',
    });
    expect(JSON.stringify(cluster)).not.toContain(CODE);
    expect(JSON.stringify(aws.bus.recent())).not.toContain(CODE);
  });

  it('is accepted whole by the real kubectl (server-side dry run, then applied) in the cluster', async () => {
    // A server-side dry run creates no namespace, so (as on any cluster) the objects in a new
    // namespace can only be checked once it exists.
    await kube('edge-aks', ['create', 'namespace', 'flotilla-agent']);
    await kube('edge-aks', ['create', 'namespace', 'eks-connector']);
    const dry = await kube('edge-aks', ['apply', '--dry-run=server', '-f', file()]);
    expect(dry).toContain('statefulset.apps/eks-connector created (server dry run)');
    expect(dry).toContain('deployment.apps/flotilla-agent created (server dry run)');
    // A dry run creates nothing.
    expect(await kube('edge-aks', ['get', 'statefulsets', '-A', '-o', 'name'])).not.toContain(
      'eks-connector',
    );

    const applied = await kube('edge-aks', ['apply', '-f', file()]);
    expect(applied).toContain('statefulset.apps/eks-connector created');
    expect(applied).toContain(
      'clusterrolebinding.rbac.authorization.k8s.io/eks-connector-console-view created',
    );
    const live = JSON.parse(
      await kube('edge-aks', ['get', 'statefulset', 'eks-connector', '-n', 'eks-connector', '-o', 'json']),
    );
    expect(live.spec.template.spec.initContainers[0].env).toEqual(
      expect.arrayContaining([
        {
          name: 'EKS_ACTIVATION_CODE',
          valueFrom: { secretKeyRef: { name: 'eks-connector-activation-config', key: 'code' } },
        },
      ]),
    );
  });

  it('the agent started from the applied bootstrap Secret enrols and makes the cluster Active', async () => {
    const stored = JSON.parse(
      await kube('edge-aks', [
        'get',
        'secret',
        'flotilla-agent-bootstrap',
        '-n',
        'flotilla-agent',
        '-o',
        'json',
      ]),
    ) as { data: Record<string, string> };
    const env = Object.fromEntries(
      Object.entries(stored.data).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]),
    );
    // What the Deployment would run in the cluster, as a process next to it.
    agent = spawn(
      NODE,
      [
        FLOTILLA_BIN,
        'agent',
        'run',
        '--kubeconfig',
        join(home, 'edge-aks.kubeconfig'),
        '--state-dir',
        join(home, 'agent-state'),
        '--heartbeat',
        '0.25',
      ],
      {
        cwd: home,
        env: { ...process.env, FLOTILLA_HOME: home, ...env },
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    agent.stderr?.on('data', (chunk: Buffer) => {
      agentLog += chunk.toString('utf8');
    });
    const end = Date.now() + 60_000;
    while ((await aws.deps.store.getCluster('edge-aks'))?.status !== 'Active') {
      if (Date.now() > end) throw new Error(`the agent did not connect\n${agentLog}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(agentLog).not.toContain(CODE);
  }, 90_000);

  it('registers an EKS cluster without the connector, and says why', async () => {
    eks.resetHistory();
    const run = await flotilla(aws, ['clusters', 'register', 'edge-eks', '--agent', '--provider', 'EKS']);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(
      '# no EKS Connector manifests: an EKS cluster is in the EKS console already',
    );
    expect(objectsOf(run.stdout).map((o) => o.metadata.namespace ?? o.metadata.name)).not.toContain(
      'eks-connector',
    );
    expect(eks).toHaveReceivedCommandTimes(RegisterClusterCommand, 0);
  });
});

describe('register --agent on a control plane with no EKS connector (flotilla up)', () => {
  it('says plainly that no connector manifests are included, and how to get them', async () => {
    const run = await flotilla(local, ['clusters', 'register', 'edge-local', '--agent', '--provider', 'GKE']);
    expect(run.code).toBe(0);
    expect(run.stderr).toContain(
      'flotilla: no EKS Connector manifests for edge-local: this control plane has no EKS connector (Flotilla is not running on AWS).',
    );
    expect(run.stderr).toContain(
      'aws eks register-cluster --name edge-local --connector-config roleArn=ROLE_ARN,provider=GKE',
    );
    expect(run.stdout).toContain('# no EKS Connector manifests: this control plane has no EKS connector');
    const objects = objectsOf(run.stdout);
    expect(objects.map((o) => o.kind)).toContain('Deployment');
    expect(objects.some((o) => o.metadata.namespace === 'eks-connector')).toBe(false);
  });

  it('renders the connector from an activation made with aws eks register-cluster, the code only in the Secret', async () => {
    const run = await flotilla(
      local,
      [
        'clusters',
        'register',
        'edge-byo',
        '--agent',
        '--provider',
        'RANCHER',
        '--connector-activation-id',
        'act-byo',
        '--connector-region',
        'eu-central-1',
      ],
      { FLOTILLA_CONNECTOR_ACTIVATION_CODE: USER_CODE },
    );
    expect(run.code).toBe(0);
    expect(run.stderr).toBe('');
    expect(run.stdout).toContain(
      "# EKS Connector: manifests for activation act-byo (eu-central-1) follow the agent's",
    );
    const objects = objectsOf(run.stdout);
    expect(secret(objects, 'eks-connector-activation-config')).toEqual({ id: 'act-byo', code: USER_CODE });
    const others = objects.filter((o) => o.metadata.name !== 'eks-connector-activation-config');
    expect(JSON.stringify(others)).not.toContain(USER_CODE);
    expect(JSON.stringify(others)).not.toContain(Buffer.from(USER_CODE).toString('base64'));
    // The code never went to the control plane.
    expect(JSON.stringify(await local.deps.store.getCluster('edge-byo'))).not.toContain(USER_CODE);
    expect(JSON.stringify(local.bus.recent())).not.toContain(USER_CODE);

    const manifests = join(home, 'edge-byo.yaml');
    writeFileSync(manifests, run.stdout, { mode: 0o600 });
    await kube('edge-byo', ['create', 'namespace', 'flotilla-agent']);
    await kube('edge-byo', ['create', 'namespace', 'eks-connector']);
    const dry = await kube('edge-byo', ['apply', '--dry-run=server', '-f', manifests]);
    expect(dry).toContain('statefulset.apps/eks-connector created (server dry run)');
    expect(dry).toContain('deployment.apps/flotilla-agent created (server dry run)');
  });

  it('registers without the connector, silently, when told to', async () => {
    const run = await flotilla(local, [
      'clusters',
      'register',
      'edge-plain',
      '--agent',
      '--provider',
      'AKS',
      '--no-eks-connector',
    ]);
    expect(run.code).toBe(0);
    expect(run.stderr).toBe('');
    expect(run.stdout).toContain('# no EKS Connector manifests: not asked for');
  });

  it('refuses half an activation, or an activation without its region, with one readable line', async () => {
    const half = await flotilla(local, [
      'clusters',
      'register',
      'edge-half',
      '--agent',
      '--connector-activation-id',
      'act-x',
      '--connector-region',
      'eu-west-1',
    ]);
    expect(half.code).not.toBe(0);
    expect(half.stderr.trim()).toContain(
      '--connector-activation-id and --connector-activation-code (or FLOTILLA_CONNECTOR_ACTIVATION_CODE) go together',
    );
    const noRegion = await flotilla(
      local,
      ['clusters', 'register', 'edge-half', '--agent', '--connector-activation-id', 'act-x'],
      { FLOTILLA_CONNECTOR_ACTIVATION_CODE: USER_CODE },
    );
    expect(noRegion.code).not.toBe(0);
    expect(noRegion.stderr).toContain('--connector-activation-id needs --connector-region');
    expect(noRegion.stderr).not.toContain(USER_CODE);
    expect(await local.deps.store.getCluster('edge-half')).toBeUndefined();
  });
});
