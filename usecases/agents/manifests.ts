/**
 * What `flotilla clusters register NAME --agent` hands out to run the agent in its cluster: one
 * `kubectl apply -f` of a namespace, a service account with what the agent needs (it applies the
 * deployments' objects, so it is bound to cluster-admin; narrow it to the namespaces and kinds
 * your deployments use), a Role over its own state Secret (where it keeps the identity it gets
 * for the bootstrap token), the bootstrap Secret, and the Deployment running the agent. Data
 * only: nothing here is stored (the bootstrap token is in the Secret, once).
 */
import type { KubeObject } from '../../domain/model.ts';

export const AGENT_NAMESPACE = 'flotilla-agent';
/** The agent image built from `agent/Dockerfile` (not published by this project: build and push it). */
export const DEFAULT_AGENT_IMAGE = 'ghcr.io/flotilla-dev/flotilla-agent:0.1.0';

export interface AgentManifestOptions {
  readonly tenant: string;
  readonly agent: string;
  readonly bootstrapToken: string;
  /** The API the agent exchanges its bootstrap token with. */
  readonly api: string;
  /** The channel it connects to (MQTT). */
  readonly channel: string;
  readonly image?: string;
}

const LABELS = { 'app.kubernetes.io/name': 'flotilla-agent', 'app.kubernetes.io/part-of': 'flotilla' };

function meta(name: string): KubeObject['metadata'] {
  return { name, namespace: AGENT_NAMESPACE, labels: { ...LABELS } };
}

/** Every object to apply, in apply order. */
export function agentManifests(options: AgentManifestOptions): KubeObject[] {
  return [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: AGENT_NAMESPACE, labels: { ...LABELS } } },
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: meta('flotilla-agent') },
    {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: meta('flotilla-agent-bootstrap'),
      type: 'Opaque',
      stringData: {
        FLOTILLA_TENANT: options.tenant,
        FLOTILLA_AGENT: options.agent,
        FLOTILLA_API: options.api,
        FLOTILLA_CHANNEL: options.channel,
        FLOTILLA_BOOTSTRAP_TOKEN: options.bootstrapToken,
      },
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: meta('flotilla-agent-state'),
      rules: [
        {
          apiGroups: [''],
          resources: ['secrets'],
          resourceNames: ['flotilla-agent-state'],
          verbs: ['get', 'update', 'patch'],
        },
        { apiGroups: [''], resources: ['secrets'], verbs: ['create'] },
      ],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: meta('flotilla-agent-state'),
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'flotilla-agent-state' },
      subjects: [{ kind: 'ServiceAccount', name: 'flotilla-agent', namespace: AGENT_NAMESPACE }],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: 'flotilla-agent', labels: { ...LABELS } },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
      subjects: [{ kind: 'ServiceAccount', name: 'flotilla-agent', namespace: AGENT_NAMESPACE }],
    },
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: meta('flotilla-agent'),
      spec: {
        replicas: 1,
        // One agent per cluster at a time: the old one stops before the new one starts.
        strategy: { type: 'Recreate' },
        selector: { matchLabels: { 'app.kubernetes.io/name': 'flotilla-agent' } },
        template: {
          metadata: { labels: { ...LABELS } },
          spec: {
            serviceAccountName: 'flotilla-agent',
            containers: [
              {
                name: 'agent',
                image: options.image ?? DEFAULT_AGENT_IMAGE,
                args: [
                  'agent',
                  'run',
                  '--in-cluster',
                  '--state-secret',
                  `${AGENT_NAMESPACE}/flotilla-agent-state`,
                ],
                envFrom: [{ secretRef: { name: 'flotilla-agent-bootstrap' } }],
                resources: { requests: { cpu: '50m', memory: '128Mi' }, limits: { memory: '512Mi' } },
                securityContext: {
                  runAsNonRoot: true,
                  allowPrivilegeEscalation: false,
                  readOnlyRootFilesystem: true,
                  capabilities: { drop: ['ALL'] },
                },
                volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }],
              },
            ],
            volumes: [{ name: 'tmp', emptyDir: {} }],
          },
        },
      },
    },
  ];
}
