/**
 * The objects a cluster needs to connect itself to EKS through the EKS Connector, rendered from
 * the values RegisterCluster returned: the `eks-connector` namespace, the activation in a
 * Secret, the agent StatefulSet (an init container that activates, the SSM agent, and the proxy
 * that forwards console requests to the API server), the RBAC the agent needs, and — for the IAM
 * identities named — a read-only ClusterRole so they can see the cluster's workloads in the
 * console. The user applies them once with kubectl; Flotilla stores none of it (the Secret holds
 * the one-time activation code).
 *
 * AWS publishes its own template (CONNECTOR_TEMPLATE_URL); these objects follow its structure,
 * with the images overridable for mirrored registries.
 */
import { stringify } from 'yaml';
import type { KubeObject } from '../../domain/model.ts';

export const CONNECTOR_NAMESPACE = 'eks-connector';
export const CONNECTOR_TEMPLATE_URL =
  'https://amazon-eks.s3.us-west-2.amazonaws.com/eks-connector/manifests/eks-connector/latest/eks-connector.yaml';
export const CONNECTOR_DOCS_URL = 'https://docs.aws.amazon.com/eks/latest/userguide/connecting-cluster.html';

/** Default images; check them against CONNECTOR_TEMPLATE_URL when upgrading. */
export const DEFAULT_CONNECTOR_IMAGES = {
  connector: 'public.ecr.aws/eks-connector/eks-connector:0.0.11',
  agent: 'public.ecr.aws/amazon-ssm-agent/amazon-ssm-agent:3.3.1142.0',
} as const;

export interface ConnectorManifestOptions {
  readonly activationId: string;
  /** One-time secret: ends up only in the Secret object. */
  readonly activationCode: string;
  readonly region: string;
  /** IAM user/role ARNs that may view the cluster in the EKS console. */
  readonly consoleUsers: readonly string[];
  readonly images?: { readonly connector?: string; readonly agent?: string };
  /** @default 2 */
  readonly replicas?: number;
}

const ACTIVATION_SECRET = 'eks-connector-activation-config';
const SERVICE_ACCOUNT = 'eks-connector';
const LABELS = { 'app.kubernetes.io/name': 'eks-connector', 'app.kubernetes.io/part-of': 'flotilla' };

function meta(name: string, namespaced = true): KubeObject['metadata'] {
  return { name, ...(namespaced ? { namespace: CONNECTOR_NAMESPACE } : {}), labels: { ...LABELS } };
}

/** Everything to apply, in apply order. */
export function connectorManifests(options: ConnectorManifestOptions): KubeObject[] {
  const images = { ...DEFAULT_CONNECTOR_IMAGES, ...options.images };
  const replicas = options.replicas ?? 2;
  const stateSecrets = Array.from({ length: replicas }, (_, i) => `eks-connector-state-${i}`);
  const objects: KubeObject[] = [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: CONNECTOR_NAMESPACE, labels: { ...LABELS } } },
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: meta(SERVICE_ACCOUNT) },
    {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: meta(ACTIVATION_SECRET),
      type: 'Opaque',
      data: {
        id: Buffer.from(options.activationId, 'utf8').toString('base64'),
        code: Buffer.from(options.activationCode, 'utf8').toString('base64'),
      },
    },
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: meta('eks-connector-agent'),
      data: {
        'amazon-ssm-agent.json': JSON.stringify(
          { Agent: { Region: options.region }, Mgs: { Region: options.region } },
          null,
          2,
        ),
      },
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: meta('eks-connector-secret-access'),
      // The agents keep their registration state in one Secret per replica.
      rules: [
        { apiGroups: [''], resources: ['secrets'], verbs: ['get', 'update'], resourceNames: stateSecrets },
        { apiGroups: [''], resources: ['secrets'], verbs: ['create'] },
      ],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: meta('eks-connector-secret-access'),
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'eks-connector-secret-access' },
      subjects: [{ kind: 'ServiceAccount', name: SERVICE_ACCOUNT, namespace: CONNECTOR_NAMESPACE }],
    },
    {
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: meta('eks-connector'),
      spec: {
        replicas,
        serviceName: 'eks-connector',
        selector: { matchLabels: { 'app.kubernetes.io/name': 'eks-connector' } },
        template: {
          metadata: { labels: { 'app.kubernetes.io/name': 'eks-connector' } },
          spec: {
            serviceAccountName: SERVICE_ACCOUNT,
            nodeSelector: { 'kubernetes.io/os': 'linux' },
            initContainers: [
              {
                name: 'connector-init',
                image: images.connector,
                args: [
                  'init',
                  '--activation.id=$(EKS_ACTIVATION_ID)',
                  '--activation.code=$(EKS_ACTIVATION_CODE)',
                  '--agent.region=$(AWS_REGION)',
                ],
                env: [
                  { name: 'AWS_REGION', value: options.region },
                  secretEnv('EKS_ACTIVATION_ID', 'id'),
                  secretEnv('EKS_ACTIVATION_CODE', 'code'),
                ],
                volumeMounts: [
                  { name: 'eks-agent-vault', mountPath: '/var/lib/amazon/ssm/Vault' },
                  { name: 'eks-connector-shared', mountPath: '/var/eks/shared' },
                ],
              },
            ],
            containers: [
              {
                name: 'connector-agent',
                image: images.agent,
                env: [{ name: 'AWS_EC2_METADATA_DISABLED', value: 'true' }],
                volumeMounts: [
                  {
                    name: 'eks-agent-config',
                    mountPath: '/etc/amazon/ssm/amazon-ssm-agent.json',
                    subPath: 'amazon-ssm-agent.json',
                  },
                  { name: 'eks-agent-vault', mountPath: '/var/lib/amazon/ssm/Vault' },
                  { name: 'eks-connector-shared', mountPath: '/var/eks/shared' },
                ],
              },
              {
                name: 'connector-proxy',
                image: images.connector,
                args: ['server'],
                env: [{ name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }],
                volumeMounts: [
                  { name: 'eks-agent-vault', mountPath: '/var/lib/amazon/ssm/Vault' },
                  { name: 'eks-connector-shared', mountPath: '/var/eks/shared' },
                ],
              },
            ],
            volumes: [
              { name: 'eks-agent-config', configMap: { name: 'eks-connector-agent' } },
              { name: 'eks-agent-vault', emptyDir: {} },
              { name: 'eks-connector-shared', emptyDir: {} },
            ],
          },
        },
      },
    },
  ];
  if (options.consoleUsers.length > 0) objects.push(...consoleAccess(options.consoleUsers));
  return objects;
}

function secretEnv(name: string, key: string) {
  return { name, valueFrom: { secretKeyRef: { name: ACTIVATION_SECRET, key } } };
}

/**
 * The console's requests arrive through the proxy, which impersonates the IAM identity that
 * made them: the agent may impersonate exactly these identities, and they may read (not change)
 * the workloads the console shows.
 */
function consoleAccess(users: readonly string[]): KubeObject[] {
  const rbac = 'rbac.authorization.k8s.io/v1';
  return [
    {
      apiVersion: rbac,
      kind: 'ClusterRole',
      metadata: meta('eks-connector-impersonate', false),
      rules: [{ apiGroups: [''], resources: ['users'], verbs: ['impersonate'], resourceNames: [...users] }],
    },
    {
      apiVersion: rbac,
      kind: 'ClusterRoleBinding',
      metadata: meta('eks-connector-impersonate', false),
      roleRef: {
        apiGroup: 'rbac.authorization.k8s.io',
        kind: 'ClusterRole',
        name: 'eks-connector-impersonate',
      },
      subjects: [{ kind: 'ServiceAccount', name: SERVICE_ACCOUNT, namespace: CONNECTOR_NAMESPACE }],
    },
    {
      apiVersion: rbac,
      kind: 'ClusterRole',
      metadata: meta('eks-connector-console-view', false),
      rules: [
        {
          apiGroups: [''],
          resources: ['nodes', 'namespaces', 'pods', 'services', 'events', 'configmaps'],
          verbs: ['get', 'list', 'watch'],
        },
        {
          apiGroups: ['apps'],
          resources: ['deployments', 'daemonsets', 'statefulsets', 'replicasets'],
          verbs: ['get', 'list', 'watch'],
        },
        { apiGroups: ['batch'], resources: ['jobs', 'cronjobs'], verbs: ['get', 'list', 'watch'] },
      ],
    },
    {
      apiVersion: rbac,
      kind: 'ClusterRoleBinding',
      metadata: meta('eks-connector-console-view', false),
      roleRef: {
        apiGroup: 'rbac.authorization.k8s.io',
        kind: 'ClusterRole',
        name: 'eks-connector-console-view',
      },
      subjects: users.map((name) => ({ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name })),
    },
  ];
}

/** The objects as one multi-document YAML file, ready for `kubectl apply -f -`. */
export function manifestsYaml(objects: readonly KubeObject[]): string {
  return objects.map((o) => stringify(o, { lineWidth: 0 })).join('---\n');
}
