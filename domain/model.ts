/**
 * The model: clusters, services, deployments, revisions, targets and executions, as zod schemas
 * (validation, and the source of the OpenAPI and JSON Schema documents) with their inferred
 * types. Every stored record carries a tenant and a `version` used for conditional writes.
 */
import semver from 'semver';
import { z } from 'zod';
import { patternProblem } from './drift/paths.ts';
import {
  FailureBudget as BoundedFailureBudget,
  boundedDuration,
  ClusterCount,
  LIMITS,
  MaxParallel,
  Percent,
  valuesProblems,
} from './limits.ts';
import {
  DEFAULT_TENANT,
  dns1123LabelProblem,
  dns1123SubdomainProblem,
  labelKeyProblem,
  labelValueProblem,
} from './names.ts';
import { repositoryUrlProblem, serverUrlProblem } from './references.ts';

// ---------------------------------------------------------------------------------------------
// Building blocks

const refine = (problem: (s: string) => string | undefined) => (value: string, ctx: z.RefinementCtx) => {
  const message = problem(value);
  if (message) ctx.addIssue({ code: 'custom', message });
};

/** A DNS-1123 label: names of clusters, deployments, services, namespaces. */
export const Dns1123Label = z.string().superRefine(refine(dns1123LabelProblem));
/** A DNS-1123 subdomain. */
export const Dns1123Subdomain = z.string().superRefine(refine(dns1123SubdomainProblem));

export const TenantId = Dns1123Label.default(DEFAULT_TENANT).meta({
  description: 'Tenant; one default tenant for now',
});

export const Labels = z
  .record(z.string(), z.string())
  .refine((labels) => Object.keys(labels).length <= 100, 'must hold at most 100 labels')
  .superRefine((labels, ctx) => {
    for (const [key, value] of Object.entries(labels)) {
      const problem = labelKeyProblem(key) ?? labelValueProblem(value);
      if (problem) ctx.addIssue({ code: 'custom', message: problem, path: [key] });
    }
  })
  .meta({ description: 'Kubernetes-style labels' });
export type Labels = z.infer<typeof Labels>;

export const PROVIDERS = [
  'EKS',
  'EKS_ANYWHERE',
  'AKS',
  'GKE',
  'OPENSHIFT',
  'RANCHER',
  'TANZU',
  'ANTHOS',
  'EC2',
  'OTHER',
] as const;
export const Provider = z.enum(PROVIDERS);
export type Provider = z.infer<typeof Provider>;

/** A Kubernetes version as `1.31` or `1.31.4` (a leading `v` and build suffixes are accepted). */
export const KubernetesVersion = z
  .string()
  .regex(/^v?\d+\.\d+(\.\d+)?([-+].*)?$/, 'must be a Kubernetes version such as 1.31 or v1.31.4');

/** A semver range over Kubernetes versions, e.g. `>=1.30 <1.34`. */
export const VersionRange = z.string().superRefine((value, ctx) => {
  if (semver.validRange(value) === null) {
    ctx.addIssue({ code: 'custom', message: `"${value}" is not a version range (e.g. ">=1.30 <1.34")` });
  }
});

// ---------------------------------------------------------------------------------------------
// Label selectors

export const SelectorOperator = z.enum(['In', 'NotIn', 'Exists', 'DoesNotExist']);

export const LabelSelectorRequirement = z
  .object({
    key: z.string().superRefine(refine(labelKeyProblem)),
    operator: SelectorOperator,
    values: z.array(z.string().max(63)).max(100).optional(),
  })
  .superRefine((req, ctx) => {
    const needsValues = req.operator === 'In' || req.operator === 'NotIn';
    const count = req.values?.length ?? 0;
    if (needsValues && count === 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['values'],
        message: `operator ${req.operator} needs at least one value`,
      });
    }
    if (!needsValues && count > 0) {
      ctx.addIssue({ code: 'custom', path: ['values'], message: `operator ${req.operator} takes no values` });
    }
  });
export type LabelSelectorRequirement = z.infer<typeof LabelSelectorRequirement>;

export const LabelSelector = z
  .object({
    matchLabels: Labels.optional(),
    matchExpressions: z.array(LabelSelectorRequirement).max(50).optional(),
  })
  .strict()
  .meta({ id: 'LabelSelector', description: 'Kubernetes label selector; all terms must match' });
export type LabelSelector = z.infer<typeof LabelSelector>;

// ---------------------------------------------------------------------------------------------
// Clusters

export const Capabilities = z
  .object({
    architectures: z.array(z.string()).default([]),
    gpu: z.boolean().default(false),
    sriov: z.boolean().default(false),
    hugepages: z.boolean().default(false),
    avx512: z.boolean().default(false),
    nodes: z.number().int().nonnegative().default(0),
    /** Total allocatable CPU, in cores. */
    cpu: z.number().nonnegative().default(0),
    /** Total allocatable memory, in bytes. */
    memoryBytes: z.number().nonnegative().default(0),
    instanceTypes: z.array(z.string()).default([]),
    zones: z.array(z.string()).default([]),
    /** Node Feature Discovery labels seen on any node (`feature.node.kubernetes.io/...`). */
    features: z.array(z.string()).default([]),
  })
  .meta({ id: 'Capabilities', description: 'What the cluster offers, read from its nodes' });
export type Capabilities = z.infer<typeof Capabilities>;

/**
 * How Flotilla reaches a cluster. Nothing secret is ever in this record: bearer tokens and
 * kubeconfigs live in the secret store (Secrets Manager on AWS) and are referenced by id.
 */
const EksAuth = z
  .object({
    type: z.literal('eks'),
    clusterName: z.string().min(1).max(100),
    region: z.string().min(1).max(32),
    roleArn: z.string().max(2048).optional(),
  })
  .meta({ description: 'Short-lived IAM token for an EKS cluster; nothing stored' });

export const ClusterAuth = z.discriminatedUnion('type', [
  EksAuth,
  z
    .object({
      type: z.literal('token'),
      secretRef: z.string().min(1),
    })
    .meta({ description: 'A bearer token kept in the secret store' }),
  z
    .object({
      type: z.literal('kubeconfig'),
      secretRef: z.string().min(1),
      context: z.string().optional(),
    })
    .meta({ description: 'A kubeconfig kept in the secret store' }),
  z
    .object({
      type: z.literal('agent'),
      /** The agent that serves it: its own, or a gateway's (manager of managers). */
      agent: z.string().min(1),
    })
    .meta({
      description:
        'Reached only through an agent next to it (outbound-only); Flotilla holds no credential and no route',
    }),
]);
export type ClusterAuth = z.infer<typeof ClusterAuth>;

/** The agent side of a cluster record: who serves it, and the hashes of its credentials. */
export const ClusterAgentRecord = z
  .object({
    /** The agent's name: the cluster's own, or a gateway's serving many clusters. */
    name: Dns1123Label,
    gateway: z.boolean().default(false),
    /** SHA-256 of the current identity token (or the certificate id on AWS IoT). */
    identity: z.object({ hash: z.string(), issuedAt: z.string() }).optional(),
    /** The identity it replaced, accepted until `until` (rotation without a gap). */
    previous: z.object({ hash: z.string(), until: z.string() }).optional(),
    /** A one-time bootstrap token not used yet: its hash and when it stops being accepted. */
    bootstrap: z.object({ hash: z.string(), expiresAt: z.string() }).optional(),
    /** Revoked: nothing from this agent is accepted any more. */
    revokedAt: z.string().optional(),
    /** Last message from the agent. */
    seenAt: z.string().optional(),
    /** Public key (PEM, Ed25519) that signs an air-gapped site's receipts. */
    receiptKey: z.string().max(4000).optional(),
    /**
     * An air-gapped site: the agent never connects; its work is carried there in signed bundles
     * and its outcome brought back in signed receipts (domain/bundle.ts).
     */
    airGapped: z.boolean().optional(),
  })
  .meta({ id: 'ClusterAgent' });
export type ClusterAgentRecord = z.infer<typeof ClusterAgentRecord>;

export const ClusterStatus = z.enum(['Active', 'Unreachable', 'Vanished', 'Pending']);
export type ClusterStatus = z.infer<typeof ClusterStatus>;

export const Cluster = z
  .object({
    /**
     * Whose the cluster is: `_platform` for the platform's clusters (shared with tenants through
     * cluster sets), or the tenant that registered it (wholly that tenant's, seen by no other).
     * Every cluster is stored among the platform's records, whoever registered it.
     */
    tenant: z.string(),
    name: Dns1123Label,
    provider: Provider,
    region: z.string(),
    version: z.string(),
    labels: Labels,
    capabilities: Capabilities,
    /** The API server's URL; absent for a cluster reached only through an agent. */
    endpoint: z.string().optional(),
    /** Base64 PEM of the API server's CA; public, not a secret. */
    caData: z.string().optional(),
    auth: ClusterAuth,
    status: ClusterStatus,
    statusReason: z.string().optional(),
    source: z.enum(['manual', 'import', 'discovery', 'connector', 'agent']),
    /** Cloud identifiers: EKS ARN, connector registration. */
    arn: z.string().optional(),
    /**
     * Blob digest of the API versions the cluster serves (`group/version` and, for custom
     * resources, `group/version/Kind`), read from discovery: a chart's `.Capabilities.APIVersions`.
     */
    apiVersionsDigest: z.string().optional(),
    /** The agent that serves the cluster (auth `agent`), and the hashes of its credentials. */
    agent: ClusterAgentRecord.optional(),
    createdAt: z.string(),
    updatedAt: z.string(),
    recordVersion: z.number().int().nonnegative(),
  })
  .meta({ id: 'Cluster' });
export type Cluster = z.infer<typeof Cluster>;

/** What a client may send to register or update a cluster. */
export const ClusterInput = z
  .object({
    name: Dns1123Label,
    provider: Provider.default('OTHER'),
    region: z.string().min(1).max(64).default('unknown'),
    version: KubernetesVersion.optional(),
    labels: Labels.default({}),
    endpoint: z.string().superRefine(refine(serverUrlProblem)),
    caData: z
      .string()
      .max(64 * 1024)
      .optional(),
    /**
     * Only EKS IAM auth may be described: a caller never names a stored credential (see
     * domain/references.ts); tokens and kubeconfigs are sent as `token` or `kubeconfig`.
     */
    auth: EksAuth.extend({
      type: z.literal('eks', {
        error:
          'only "eks" may be given as auth: send a bearer token as token or a kubeconfig as kubeconfig (Flotilla stores credentials itself and takes no reference to a stored one)',
      }),
    })
      .strict()
      .optional(),
    /** A bearer token, stored in the secret store on arrival and replaced by a reference. */
    token: z
      .string()
      .min(1)
      .max(16 * 1024)
      .optional(),
    /** A kubeconfig document, stored in the secret store on arrival. */
    kubeconfig: z
      .string()
      .min(1)
      .max(64 * 1024)
      .optional(),
    context: z.string().max(253).optional(),
  })
  .strict()
  .meta({ id: 'ClusterInput' });
export type ClusterInput = z.infer<typeof ClusterInput>;

// ---------------------------------------------------------------------------------------------
// Placement

/** Which clusters a deployment targets: all terms must hold. Empty means every cluster. */
export const Placement = z
  .object({
    clusters: z
      .array(Dns1123Label)
      .max(LIMITS.targetClusters)
      .optional()
      .meta({ description: 'Explicit cluster names' }),
    selector: LabelSelector.optional(),
    providers: z.array(Provider).max(PROVIDERS.length).optional(),
    regions: z.array(z.string().min(1).max(64)).max(100).optional(),
    kubernetesVersion: VersionRange.optional().meta({ description: 'Semver range, e.g. ">=1.30 <1.34"' }),
  })
  .strict()
  .meta({ id: 'Placement' });
export type Placement = z.infer<typeof Placement>;

/**
 * One preference of a placement policy: an eligible cluster scores up to `weight` by it. Exactly
 * one of `labels` (full weight when the selector matches), `capability` (full weight when the
 * cluster has it), `resource` (weight × its allocatable CPU or memory over the largest among the
 * eligible clusters) or `kubernetesVersion: newest` (weight × its version's rank among theirs).
 */
export const PlacementPreference = z
  .object({
    weight: z.number().int().min(1).max(100).default(1),
    labels: LabelSelector.optional(),
    capability: z.enum(['gpu', 'sriov', 'hugepages', 'avx512', 'amd64', 'arm64']).optional(),
    resource: z.enum(['cpu', 'memory']).optional(),
    kubernetesVersion: z.literal('newest').optional(),
  })
  .strict()
  .superRefine((p, ctx) => {
    const terms = [p.labels, p.capability, p.resource, p.kubernetesVersion].filter((t) => t !== undefined);
    if (terms.length !== 1) {
      ctx.addIssue({
        code: 'custom',
        message: 'a preference scores by exactly one of labels, capability, resource or kubernetesVersion',
      });
    }
  })
  .meta({ id: 'PlacementPreference' });
export type PlacementPreference = z.infer<typeof PlacementPreference>;

/** Where a spread constraint reads a cluster's domain: its region, provider, zone, or a label key. */
export const SpreadKey = z.string().superRefine((key, ctx) => {
  if (key === 'region' || key === 'provider' || key === 'zone') return;
  const problem = labelKeyProblem(key);
  if (problem)
    ctx.addIssue({ code: 'custom', message: `must be region, provider, zone or a label key: ${problem}` });
});

/**
 * Failover, opt-in: a placed cluster dark (or its workloads unhealthy) for longer than `after`
 * is replaced by the next-best eligible cluster, which must be healthy before the lost one is
 * released. At most `maxReplacements` re-placements per `per` window for one deployment.
 */
export const FailoverPolicy = z
  .object({
    after: boundedDuration(LIMITS.durationSeconds, 1).meta({
      description: 'How long a cluster stays lost before it is replaced',
    }),
    when: z.enum(['unreachable', 'unhealthy', 'both']).default('unreachable'),
    maxReplacements: z.number().int().min(1).max(100).default(3),
    per: boundedDuration(LIMITS.durationSeconds, 1).default(3600),
  })
  .strict()
  .meta({ id: 'FailoverPolicy' });
export type FailoverPolicy = z.infer<typeof FailoverPolicy>;

/**
 * How many of the eligible clusters a deployment runs on, and which: `clusters` of them, spread
 * over a topology key within `maxSkew`, best-scored first, sticky (a placed cluster stays while
 * it is eligible), with opt-in failover. Eligible: what `target` and the service's requirements let in.
 */
export const PlacementPolicy = z
  .object({
    clusters: z.number().int().min(1).max(LIMITS.targetClusters),
    spread: z
      .object({ key: SpreadKey, maxSkew: z.number().int().min(1).max(100).default(1) })
      .strict()
      .optional(),
    prefer: z.array(PlacementPreference).max(20).default([]),
    sticky: z.boolean().default(true),
    failover: FailoverPolicy.optional(),
    /** When a released cluster returns: move back to it (true), or remove its copy (false). */
    failback: z.boolean().default(false),
  })
  .strict()
  .superRefine((p, ctx) => {
    if (p.failback && !p.failover) {
      ctx.addIssue({
        code: 'custom',
        path: ['failback'],
        message: 'needs failover (failback moves back after a failover)',
      });
    }
  })
  .meta({ id: 'PlacementPolicy' });
export type PlacementPolicy = z.infer<typeof PlacementPolicy>;

/** A cluster of a placement decision, with its score and spread domain. */
export const RankedCluster = z.object({
  cluster: Dns1123Label,
  score: z.number().int(),
  domain: z.string().optional(),
});
export type RankedCluster = z.infer<typeof RankedCluster>;

/**
 * A deployment's placement decision (one per deployment, versioned, changed only at the version
 * it was read at): the clusters selected, the ranked alternates, those left out and why, the
 * clusters released by a failover whose copy waits for them to come back, and its history.
 */
export const PlacementRecord = z
  .object({
    tenant: z.string(),
    deployment: Dns1123Label,
    /** The revision whose policy the decision was last made under. */
    revision: z.number().int().positive(),
    selected: z.array(
      RankedCluster.extend({
        since: z.string(),
        /** A failover's replacement, until it is healthy and the lost cluster released. */
        replacing: Dns1123Label.optional(),
      }),
    ),
    alternates: z.array(RankedCluster).max(LIMITS.targetClusters),
    leftOut: z.array(z.object({ cluster: z.string(), reasons: z.array(z.string()).max(20) })),
    /** Why fewer than `clusters` were selected, when so. */
    shortfall: z.string().optional(),
    /**
     * Clusters released while lost: their copy stays (nothing is deleted from a dark cluster)
     * until they are back; then it is removed (`cleaning`), or they are moved back to (failback).
     */
    released: z
      .array(
        z.object({
          cluster: Dns1123Label,
          at: z.string(),
          replacedBy: Dns1123Label.optional(),
          state: z.enum(['waiting', 'cleaning']),
        }),
      )
      .default([]),
    /** When each troubled placed cluster was first seen dark or unhealthy (failover's clock). */
    troubled: z.record(z.string(), z.string()).default({}),
    /** When the last re-placements happened (rate limit). */
    replacements: z.array(z.string()).max(100).default([]),
    history: z
      .array(
        z.object({
          version: z.number().int().nonnegative(),
          at: z.string(),
          reason: z.string().max(500),
          added: z.array(z.string()).max(LIMITS.targetClusters).default([]),
          removed: z.array(z.string()).max(LIMITS.targetClusters).default([]),
        }),
      )
      .max(50)
      .default([]),
    updatedAt: z.string(),
    recordVersion: z.number().int().nonnegative(),
  })
  .meta({ id: 'PlacementRecord' });
export type PlacementRecord = z.infer<typeof PlacementRecord>;

// ---------------------------------------------------------------------------------------------
// Sources and services

/** Size limit for an uploaded source (a chart archive or a set of manifests). */
export const MAX_SOURCE_BYTES = LIMITS.sourceBytes;

export const ManifestFile = z.object({
  path: z.string().min(1).max(1024),
  content: z.string(),
});

/**
 * A source as the API receives it: content uploaded by the client, or a reference the control
 * plane fetches itself (an HTTP chart repository or an OCI registry).
 */
export const SourceInput = z
  .discriminatedUnion('type', [
    z
      .object({ type: z.literal('manifests'), files: z.array(ManifestFile).min(1).max(LIMITS.chartFiles) })
      .strict(),
    z
      .object({
        type: z.literal('chart'),
        /** base64 of a chart archive (.tgz). */
        archive: z.string().min(1),
      })
      .strict(),
    z
      .object({
        type: z.literal('chartRef'),
        /** `oci://registry/repo/chart` or a chart name in `repo`. */
        chart: z.string().min(1).max(1024),
        repo: z.string().superRefine(refine(repositoryUrlProblem)).optional(),
        version: z.string().max(128).optional(),
      })
      .strict(),
  ])
  .meta({ id: 'SourceInput' });
export type SourceInput = z.infer<typeof SourceInput>;

/** A stored source: where its bytes are (a content digest in the blob store) and what it is. */
export const SourceRecord = z.discriminatedUnion('type', [
  z.object({ type: z.literal('manifests'), digest: z.string(), files: z.number().int() }),
  z.object({
    type: z.literal('chart'),
    digest: z.string(),
    chart: z.string(),
    chartVersion: z.string(),
    /**
     * What the chart's templates read of the cluster, so renders differ per cluster only where
     * they must: `.Capabilities.KubeVersion`, `.Capabilities.APIVersions`, `lookup`, and
     * `.Release.IsUpgrade`/`IsInstall`.
     */
    facts: z.array(z.enum(['kubeVersion', 'apiVersions', 'lookup', 'releaseState'])).optional(),
    /** Where the archive was pulled from, when it came from a repository or registry (pinned by digest). */
    origin: z
      .object({ chart: z.string(), repo: z.string().optional(), version: z.string().optional() })
      .optional(),
  }),
  z.object({
    type: z.literal('chartRef'),
    chart: z.string(),
    repo: z.string().optional(),
    version: z.string().optional(),
  }),
]);
export type SourceRecord = z.infer<typeof SourceRecord>;

export const Requirements = z
  .object({
    minKubernetesVersion: KubernetesVersion.optional(),
    capabilities: z.array(z.enum(['gpu', 'sriov', 'hugepages', 'avx512', 'amd64', 'arm64'])).optional(),
  })
  .strict();
export type Requirements = z.infer<typeof Requirements>;

export const ServiceVersion = z
  .object({
    tenant: z.string(),
    service: Dns1123Label,
    version: z.number().int().positive(),
    source: SourceRecord,
    defaults: z.record(z.string(), z.unknown()),
    requirements: Requirements,
    createdAt: z.string(),
  })
  .meta({ id: 'ServiceVersion' });
export type ServiceVersion = z.infer<typeof ServiceVersion>;

// ---------------------------------------------------------------------------------------------
// Deployments, revisions, targets

/** A failure budget: a count (`2`) or a percentage of the wave (`"10%"`), bounded (domain/limits.ts). */
export const FailureBudget = BoundedFailureBudget;

/** A duration: seconds, or a string such as `90s`, `5m`, `1h`, up to LIMITS.durationSeconds. */
export const Duration = boundedDuration(LIMITS.durationSeconds);
/** How long a cluster may take to become healthy: 1 s to LIMITS.progressDeadlineSeconds. */
export const ProgressDeadline = boundedDuration(LIMITS.progressDeadlineSeconds, 1);
/** How long a wave soaks: up to LIMITS.minSuccessSeconds. */
export const SoakTime = boundedDuration(LIMITS.minSuccessSeconds);

export const Wave = z
  .object({
    name: z.string().min(1).max(63).optional(),
    count: ClusterCount.optional(),
    percent: Percent.optional(),
    selector: LabelSelector.optional(),
    maxParallel: MaxParallel.optional(),
    maxFailures: FailureBudget.optional(),
    progressDeadline: ProgressDeadline.optional(),
    minSuccessTime: SoakTime.optional(),
    approval: z.boolean().optional().meta({ description: 'Wait for an approval before this wave starts' }),
  })
  .strict()
  .superRefine((wave, ctx) => {
    const pickers = [wave.count, wave.percent, wave.selector].filter((x) => x !== undefined).length;
    if (pickers > 1)
      ctx.addIssue({ code: 'custom', message: 'a wave selects by one of count, percent or selector' });
  })
  .meta({ id: 'Wave' });
export type Wave = z.infer<typeof Wave>;

/** True when a selector has no term (it would match every cluster). */
function emptySelector(selector: { matchLabels?: object; matchExpressions?: unknown[] }): boolean {
  return (
    Object.keys(selector.matchLabels ?? {}).length === 0 && (selector.matchExpressions ?? []).length === 0
  );
}

/**
 * Blue/green between two cluster groups: the new revision goes to the green group (gated like a
 * wave: failure budget, deadline, soak, approval), then the deployment is retired from the blue
 * group (its objects removed there) — or, when green fails, rolled back as `onFailure` says.
 */
export const BlueGreen = z
  .object({
    green: LabelSelector.meta({ description: 'Clusters that get the new revision' }),
    blue: LabelSelector.meta({ description: 'Clusters the deployment is retired from once green passes' }),
    maxParallel: MaxParallel.optional(),
    maxFailures: FailureBudget.optional(),
    progressDeadline: ProgressDeadline.optional(),
    minSuccessTime: SoakTime.optional(),
    approval: z.boolean().optional().meta({ description: 'Wait for an approval before retiring blue' }),
  })
  .strict()
  .superRefine((bg, ctx) => {
    for (const group of ['green', 'blue'] as const) {
      if (emptySelector(bg[group])) {
        ctx.addIssue({
          code: 'custom',
          path: [group],
          message: 'must select by at least one label (an empty selector matches every cluster)',
        });
      }
    }
  })
  .meta({ id: 'BlueGreen' });
export type BlueGreen = z.infer<typeof BlueGreen>;

/** Most waves a strategy may have. */
export const MAX_WAVES = 20;

export const Strategy = z
  .object({
    onFailure: z.enum(['pause', 'rollback', 'continue']).default('pause'),
    maxParallel: MaxParallel.optional(),
    progressDeadline: ProgressDeadline.optional(),
    /** The failure budget of every wave that does not set its own. @default 0 */
    maxFailures: FailureBudget.optional(),
    waves: z.array(Wave).max(MAX_WAVES).optional(),
    blueGreen: BlueGreen.optional(),
  })
  .strict()
  .superRefine((strategy, ctx) => {
    if (strategy.waves && strategy.blueGreen) {
      ctx.addIssue({
        code: 'custom',
        path: ['blueGreen'],
        message: 'use either waves or blueGreen, not both',
      });
    }
    const waves = strategy.waves ?? [];
    waves.forEach((wave, i) => {
      const picks = wave.count !== undefined || wave.percent !== undefined || wave.selector !== undefined;
      if (!picks && i < waves.length - 1) {
        ctx.addIssue({
          code: 'custom',
          path: ['waves', i],
          message: 'only the last wave may omit count, percent and selector (it takes the rest)',
        });
      }
    });
  })
  .meta({ id: 'Strategy' });
export type Strategy = z.infer<typeof Strategy>;

export const DriftPolicy = z
  .object({
    policy: z.enum(['off', 'report', 'heal']).default('report'),
    ignore: z
      .array(
        z
          .object({
            kind: z.string().min(1).max(253),
            name: z.string().max(253).optional(),
            paths: z
              .array(z.string().min(1).max(1024).superRefine(refine(patternProblem)))
              .min(1)
              .max(50)
              .meta({
                description:
                  'Field paths: spec.replicas, spec.template.spec.containers[*].image, /spec/replicas',
              }),
          })
          .strict(),
      )
      .max(100)
      .default([]),
  })
  .strict()
  .meta({ id: 'DriftPolicy' });
export type DriftPolicy = z.infer<typeof DriftPolicy>;

/**
 * What a deployment may write besides namespaced objects in its own namespace: other namespaces
 * it names, and cluster-scoped kinds. Anything else in a render is refused, naming the object.
 */
export const Scope = z
  .object({
    namespaces: z
      .array(Dns1123Label)
      .max(100)
      .optional()
      .meta({ description: 'Other namespaces the deployment may write objects into' }),
    clusterScoped: z
      .union([z.boolean(), z.array(z.string().min(1).max(253)).max(100)])
      .optional()
      .meta({
        description:
          'Cluster-scoped objects the deployment may write: true for any kind, or a list of kinds (ClusterRole, CustomResourceDefinition, …)',
      }),
  })
  .strict()
  .meta({ id: 'Scope' });
export type Scope = z.infer<typeof Scope>;

/**
 * Values: any JSON object, within the bounds of domain/limits.ts (nesting, size, numbers the
 * store can keep). String leaves may use `${cluster.*}` references.
 */
export const Values = z.record(z.string(), z.unknown()).superRefine((values, ctx) => {
  for (const problem of valuesProblems(values)) {
    ctx.addIssue({ code: 'custom', path: [...problem.path], message: problem.message });
  }
});
export type Values = z.infer<typeof Values>;

/** What a deploy from a plan checks: the plan's spec digest and each planned cluster's fingerprint. */
export const PlanCheck = z
  .object({
    specDigest: z.string().min(1).max(128),
    clusters: z
      .record(Dns1123Label, z.string().min(1).max(64))
      .refine((r) => Object.keys(r).length <= 20_000, { message: 'at most 20000 clusters' }),
  })
  .strict()
  .meta({ id: 'PlanCheck' });
export type PlanCheck = z.infer<typeof PlanCheck>;

/** The declarative request to create or update a deployment (API body; the CLI builds it from a file). */
export const DeploymentInput = z
  .object({
    name: Dns1123Label,
    namespace: Dns1123Label.default('default'),
    /** The service this deployment places; defaults to the deployment's name. */
    service: Dns1123Label.optional(),
    source: SourceInput.optional().meta({
      description: 'New content for the service; omitted = the latest version',
    }),
    values: Values.default({}),
    target: Placement.default({}),
    placement: PlacementPolicy.optional().meta({
      description: 'Run on N of the eligible clusters: spread, preferences, stickiness, failover',
    }),
    strategy: Strategy.optional(),
    drift: DriftPolicy.optional(),
    requirements: Requirements.optional(),
    scope: Scope.optional(),
    adopt: z.boolean().optional().meta({
      description:
        'Take over objects that exist and belong to nobody, to a Helm release of another name, or to another deployment of this tenant (default: such a cluster fails with Conflict)',
    }),
    plan: PlanCheck.optional().meta({
      description:
        "Apply exactly what a plan showed (`flotilla deploy --plan`): the plan's spec digest and each cluster's fingerprint; clusters whose state changed since are refused, the rest applied",
    }),
  })
  .strict()
  .meta({ id: 'DeploymentInput' });
export type DeploymentInput = z.infer<typeof DeploymentInput>;

export const DeploymentStatus = z.enum([
  'Pending',
  'Progressing',
  'Succeeded',
  'Failed',
  'Paused',
  'WaitingApproval',
  'RolledBack',
  'Cancelled',
  /** Removed from every cluster by `flotilla delete`; its history stays readable. */
  'Deleted',
]);
export type DeploymentStatus = z.infer<typeof DeploymentStatus>;

/** An operation holding the deployment: one at a time. */
export const DeploymentLock = z.object({
  executionId: z.string(),
  operation: z.string(),
  since: z.string(),
});

export const Deployment = z
  .object({
    tenant: z.string(),
    name: Dns1123Label,
    namespace: Dns1123Label,
    service: Dns1123Label,
    /** The revision the fleet should be at. */
    revision: z.number().int().positive(),
    /** The last revision that finished successfully everywhere it was placed. */
    lastGoodRevision: z.number().int().positive().optional(),
    status: DeploymentStatus,
    message: z.string().optional(),
    lastExecutionId: z.string().optional(),
    lock: DeploymentLock.optional(),
    /** When `flotilla delete` removed it from every cluster (status Deleted). */
    deletedAt: z.string().optional(),
    createdAt: z.string(),
    updatedAt: z.string(),
    recordVersion: z.number().int().nonnegative(),
  })
  .meta({ id: 'Deployment' });
export type Deployment = z.infer<typeof Deployment>;

/** An immutable snapshot of what a deployment asked for at one point. */
export const Revision = z
  .object({
    tenant: z.string(),
    deployment: Dns1123Label,
    revision: z.number().int().positive(),
    service: Dns1123Label,
    serviceVersion: z.number().int().positive(),
    namespace: Dns1123Label,
    values: Values,
    target: Placement,
    placement: PlacementPolicy.optional(),
    strategy: Strategy.optional(),
    drift: DriftPolicy.optional(),
    scope: Scope.optional(),
    adopt: z.boolean().optional(),
    /** Digest of (service version, namespace, values, target): identical deploys change nothing. */
    specDigest: z.string(),
    createdAt: z.string(),
  })
  .meta({ id: 'Revision' });
export type Revision = z.infer<typeof Revision>;

export const ObjectRef = z
  .object({
    apiVersion: z.string(),
    kind: z.string(),
    namespace: z.string().optional(),
    name: z.string(),
  })
  .meta({ id: 'ObjectRef' });
export type ObjectRef = z.infer<typeof ObjectRef>;

/** An applied object: its reference and the generation the server gave it on that apply. */
export const InventoryItem = ObjectRef.extend({
  generation: z.number().int().optional(),
  /**
   * Never deleted by Flotilla (prune, rollback, delete): a CRD from a chart's `crds/` directory,
   * or an object annotated `helm.sh/resource-policy: keep`. Reported as kept instead.
   */
  keep: z.boolean().optional(),
});
export type InventoryItem = z.infer<typeof InventoryItem>;

export const HEALTH_CODES = ['Healthy', 'Progressing', 'Degraded', 'Missing', 'Unknown'] as const;
export const HealthCode = z.enum(HEALTH_CODES);
export type HealthCode = z.infer<typeof HealthCode>;

export const Health = z.object({ status: HealthCode, message: z.string().optional() }).meta({ id: 'Health' });
export type Health = z.infer<typeof Health>;

export const TargetStatus = z.enum(['Pending', 'Progressing', 'Succeeded', 'Failed', 'Skipped', 'Removed']);
export type TargetStatus = z.infer<typeof TargetStatus>;

/** Why a target failed, as a closed set (the free-text `reason` says more). */
export const FailureCode = z.enum([
  'Unreachable',
  'Unauthorized',
  'Rejected',
  'ApplyFailed',
  'HealthTimeout',
  'Degraded',
  'RenderFailed',
  'Cancelled',
  'RequirementsNotMet',
  /** A Helm hook (Job or Pod) failed or did not finish within the deadline. */
  'HookFailed',
  /** An object belongs to someone else (another deployment, a Helm release, nobody) and was not taken. */
  'Conflict',
]);
export type FailureCode = z.infer<typeof FailureCode>;

/** The hook events of a release change, as Helm names them. */
export const ReleaseAction = z.enum(['install', 'upgrade', 'rollback', 'delete']);

/** One hook run, as Helm records it on the release. */
export const HookRunRecord = z.object({
  name: z.string(),
  kind: z.string(),
  event: z.string(),
  phase: z.enum(['Running', 'Succeeded', 'Failed']),
  startedAt: z.string().optional(),
  completedAt: z.string().optional(),
});
export type HookRunRecord = z.infer<typeof HookRunRecord>;

/**
 * Where one cluster's delivery stands while it is Progressing: running the pre hooks, waiting for
 * the applied workloads' health, or running the post hooks (the apply itself is one step). Kept
 * on the target so the next poll carries on where the last one stopped.
 */
export const DeliveryProgress = z
  .object({
    /** `agent`: the work is with the cluster's agent, whose reports say where it stands. */
    phase: z.enum(['pre-hooks', 'health', 'post-hooks', 'agent']),
    /** Install, upgrade, rollback or delete: which hooks run, and how the release is recorded. */
    action: ReleaseAction,
    /** Position, in run order, of the hook being run in this phase. */
    hook: z.number().int().nonnegative().default(0),
    /** When the current hook was created (its deadline counts from here). */
    hookStartedAt: z.string().optional(),
    /** Hooks run so far in this delivery (for the Helm release record). */
    runs: z.array(HookRunRecord).max(200).default([]),
    /** The newest Helm release version on the cluster when the delivery began (0: none). */
    releaseBase: z.number().int().nonnegative().optional(),
    /** The render being delivered (when it was made for this cluster at apply time). */
    renderDigest: z.string().optional(),
  })
  .meta({ id: 'DeliveryProgress' });
export type DeliveryProgress = z.infer<typeof DeliveryProgress>;

/**
 * A delivery's outcome on one cluster as its agent reported it (domain/agent.ts), kept on the
 * target until the delivery's step takes it in.
 */
export const DeliveryReport = z
  .object({
    /** The work generation this report is about. */
    generation: z.number().int().nonnegative(),
    /**
     * Rises with each report of one work generation (agents send the time in milliseconds, so it
     * rises across their restarts too): a replayed or reordered report is refused.
     */
    seq: z.number().int().nonnegative(),
    status: z.enum(['Progressing', 'Succeeded', 'Failed', 'Removed']),
    failure: FailureCode.optional(),
    reason: z.string().max(2000).optional(),
    health: Health,
    inventory: z.array(InventoryItem).max(5000),
    /** The render is in the cluster (the applied revision moves). */
    applied: z.boolean(),
    appliedAt: z.string().optional(),
    objects: z.number().int().nonnegative(),
    kept: z.array(z.string()).max(50).default([]),
    releaseVersion: z.number().int().positive().optional(),
    /** When the control plane received it. */
    receivedAt: z.string(),
  })
  .meta({ id: 'DeliveryReport' });
export type DeliveryReport = z.infer<typeof DeliveryReport>;

/** One (deployment, cluster) pair: the unit of resume and rollback. */
export const Target = z
  .object({
    tenant: z.string(),
    deployment: Dns1123Label,
    cluster: Dns1123Label,
    desiredRevision: z.number().int().positive(),
    appliedRevision: z.number().int().positive().optional(),
    status: TargetStatus,
    health: Health,
    failure: FailureCode.optional(),
    reason: z.string().optional(),
    /** Digest of the rendered manifest set this target got (render once per distinct values). */
    renderDigest: z.string().optional(),
    /**
     * Digest of the per-cluster values that render came from (written with `renderDigest`): at
     * the same revision, equal values give the same render, so an identical request can tell a
     * target is up to date without rendering again.
     */
    valuesDigest: z.string().optional(),
    inventory: z.array(InventoryItem),
    attempts: z.number().int().nonnegative(),
    wave: z.number().int().nonnegative().optional(),
    executionId: z.string().optional(),
    /** When the current apply happened; the health deadline counts from here. */
    appliedAt: z.string().optional(),
    /** The delivery in progress (hooks, health), while the target is Progressing. */
    delivery: DeliveryProgress.optional(),
    /** The Helm release version last recorded on the cluster (chart deployments). */
    releaseVersion: z.number().int().positive().optional(),
    /** The generation of the work last issued for this target (domain/work.ts). */
    workGeneration: z.number().int().nonnegative().optional(),
    /** Blob digest of that work, for a cluster reached through an agent (what it syncs). */
    workDigest: z.string().optional(),
    /** The agent's last report about that work (agent clusters). */
    report: DeliveryReport.optional(),
    /** Objects the last removal or prune left in place on purpose (keep), as `Kind ns/name`. */
    kept: z.array(z.string()).max(50).optional(),
    updatedAt: z.string(),
    recordVersion: z.number().int().nonnegative(),
  })
  .meta({ id: 'Target' });
export type Target = z.infer<typeof Target>;

// ---------------------------------------------------------------------------------------------
// Executions

export const ExecutionType = z.enum([
  'deploy',
  'rollback',
  'resume',
  'drift-scan',
  'heal',
  'discovery',
  'maintenance',
  /** Removing the deployment from every cluster (`flotilla delete`). */
  'delete',
]);
export type ExecutionType = z.infer<typeof ExecutionType>;

export const ExecutionStatus = z.enum([
  'Running',
  'Succeeded',
  'Failed',
  'Paused',
  'WaitingApproval',
  'RolledBack',
  'Cancelled',
]);
export type ExecutionStatus = z.infer<typeof ExecutionStatus>;

export const ProgressCounts = z
  .object({
    total: z.number().int().nonnegative(),
    pending: z.number().int().nonnegative(),
    progressing: z.number().int().nonnegative(),
    succeeded: z.number().int().nonnegative(),
    failed: z.number().int().nonnegative(),
    skipped: z.number().int().nonnegative(),
  })
  .meta({ id: 'ProgressCounts' });
export type ProgressCounts = z.infer<typeof ProgressCounts>;

/** Where one wave of a run stands. */
export const WaveState = z.enum([
  'Pending',
  'Applying',
  'Soaking',
  'WaitingApproval',
  'Passed',
  /** Over its failure budget, and the strategy said continue. */
  'Failed',
  /** Over its failure budget: the rollout stopped here. */
  'Halted',
  /** Nothing to do in this run (every cluster of it already there, or none selected). */
  'Skipped',
  'Cancelled',
]);
export type WaveState = z.infer<typeof WaveState>;

/** One wave of a run, in the order the run takes them. */
export const WaveProgress = z
  .object({
    /** The wave's index in the strategy (targets and plan batches carry it). */
    index: z.number().int().nonnegative(),
    name: z.string(),
    /** `apply` the revision, or `retire` the deployment from these clusters (blue/green's blue). */
    action: z.enum(['apply', 'retire']),
    /** Clusters of the wave (the whole wave, whether or not this run has work on them). */
    size: z.number().int().nonnegative(),
    /** Clusters this run works on in the wave. */
    clusters: z.number().int().nonnegative(),
    /** Failures tolerated, resolved from the budget over `size`. */
    maxFailures: z.number().int().nonnegative(),
    state: WaveState,
    succeeded: z.number().int().nonnegative().optional(),
    failed: z.number().int().nonnegative().optional(),
    startedAt: z.string().optional(),
    soakStartedAt: z.string().optional(),
    approvedAt: z.string().optional(),
    endedAt: z.string().optional(),
    message: z.string().optional(),
    /** The wave's plan batches in this run: indices `first` … `first + count - 1`. */
    batches: z
      .object({ first: z.number().int().nonnegative(), count: z.number().int().nonnegative() })
      .optional(),
    /**
     * Blob digest of the sorted names of the clusters this run works on in the wave (its batches'
     * and those the plan already failed), so a gate reads those targets, not the deployment's.
     */
    clustersDigest: z.string().optional(),
  })
  .meta({ id: 'WaveProgress' });
export type WaveProgress = z.infer<typeof WaveProgress>;

/** A cluster's failure as recorded when a wave halted. */
export const HaltedTarget = z.object({
  cluster: z.string(),
  failure: FailureCode.optional(),
  reason: z.string().optional(),
});

/** A progressive run's waves and gates (what `flotilla rollout status` shows). */
export const RolloutProgress = z
  .object({
    /** `rollout` applies the run's revision; `rollback` re-applies the previous good one. */
    phase: z.enum(['rollout', 'rollback']),
    onFailure: z.enum(['pause', 'rollback', 'continue']),
    /** False for runs whose waves are never held (rollbacks, heals): no budget halts, soak or approval. */
    gated: z.boolean(),
    /** Position (in `waves`) of the wave running or gated now. */
    current: z.number().int().nonnegative(),
    waves: z.array(WaveProgress),
    /** Asked to stop before the next wave (`rollout pause`). */
    pauseRequested: z.object({ at: z.string() }).optional(),
    /** Why the rollout stopped at a wave. */
    halted: z
      .object({
        position: z.number().int().nonnegative(),
        reason: z.string(),
        failed: z.array(HaltedTarget).max(20),
      })
      .optional(),
    /**
     * The approval being waited for. `tokenRef` is a reference into the secret store, where the
     * workflow's task token is kept (the token itself is never in a record, a log or an answer).
     */
    approval: z
      .object({ position: z.number().int().nonnegative(), requestedAt: z.string(), tokenRef: z.string() })
      .optional(),
    /** The automatic rollback of this run, once it started. */
    rollback: z
      .object({
        fromRevision: z.number().int().positive(),
        /** Absent when there was no earlier good revision: what the run applied is removed. */
        toRevision: z.number().int().positive().optional(),
        clusters: z.number().int().nonnegative(),
        /** The first plan batch of the rollback (results of earlier batches are the rollout's). */
        firstBatch: z.number().int().nonnegative(),
        /** The rollback plan, kept in the blob store, so a retried planning step plans the same. */
        planDigest: z.string(),
        /** The rollback's own waves (the rollout's in reverse), once it runs. */
        waves: z.array(WaveProgress).optional(),
      })
      .optional(),
  })
  .meta({ id: 'RolloutProgress' });
export type RolloutProgress = z.infer<typeof RolloutProgress>;

/**
 * What one run works on, when it is not "every target of the revision that is not there yet":
 * exactly some clusters (their names in the blob store, as a JSON array), every one of them even
 * when it looks up to date (`force`: heal, maintenance), with or without the strategy's gates,
 * waves in reverse order (rollback).
 */
export const ExecutionScope = z
  .object({
    clustersDigest: z.string().optional(),
    clusters: z.number().int().nonnegative().optional(),
    force: z.boolean().optional(),
    gates: z.boolean().optional(),
    reverse: z.boolean().optional(),
    reason: z.string().optional(),
  })
  .meta({ id: 'ExecutionScope' });
export type ExecutionScope = z.infer<typeof ExecutionScope>;

/** What one region gave in a discovery run: counts and, when it could not be listed, why. */
export const DiscoveryRegionOutcome = z
  .object({
    region: z.string(),
    /** False when the region could not be listed; nothing in it changed. */
    ok: z.boolean(),
    clusters: z.number().int().nonnegative(),
    registered: z.number().int().nonnegative(),
    updated: z.number().int().nonnegative(),
    vanished: z.number().int().nonnegative(),
    unchanged: z.number().int().nonnegative(),
    /** Clusters whose DescribeCluster failed. */
    failures: z.number().int().nonnegative(),
    /** Tags that could not become labels. */
    warnings: z.number().int().nonnegative(),
    reason: z.string().optional(),
  })
  .meta({ id: 'DiscoveryRegionOutcome' });
export type DiscoveryRegionOutcome = z.infer<typeof DiscoveryRegionOutcome>;

/**
 * What a run used, counted by its steps as they ran (adapters/lambda/step-handler.ts): Lambda
 * invocations and their milliseconds, and invocations per step of the deploy workflow. Priced by
 * domain/cost/rollout-cost.ts.
 */
export const USAGE_KEYS = [
  'invocations',
  'lambdaMs',
  'planSteps',
  'applySteps',
  'healthSteps',
  'gateSteps',
  'finishSteps',
] as const;
export const ExecutionUsage = z
  .object(
    Object.fromEntries(USAGE_KEYS.map((k) => [k, z.number().int().nonnegative().optional()])) as {
      [K in (typeof USAGE_KEYS)[number]]: z.ZodOptional<z.ZodNumber>;
    },
  )
  .meta({ id: 'ExecutionUsage' });
export type ExecutionUsage = z.infer<typeof ExecutionUsage>;

export const Execution = z
  .object({
    tenant: z.string(),
    id: z.string(),
    type: ExecutionType,
    deployment: z.string().optional(),
    revision: z.number().int().positive().optional(),
    status: ExecutionStatus,
    message: z.string().optional(),
    counts: ProgressCounts,
    batches: z.number().int().nonnegative(),
    /** The workflow run behind it (a Step Functions execution ARN on AWS). */
    workflowRef: z.string().optional(),
    /** Waves and gates of a progressive run (absent on runs planned before waves existed). */
    rollout: RolloutProgress.optional(),
    /** What the run works on, when not the default (see ExecutionScope). */
    scope: ExecutionScope.optional(),
    /** What the run used so far (owned by addExecutionUsage, like `counts`). */
    usage: ExecutionUsage.optional(),
    /** A discovery run: each region's outcome, written by the region's own step. */
    discovery: z.object({ regions: z.array(DiscoveryRegionOutcome) }).optional(),
    startedAt: z.string(),
    endedAt: z.string().optional(),
    recordVersion: z.number().int().nonnegative(),
  })
  .meta({ id: 'Execution' });
export type Execution = z.infer<typeof Execution>;

/** The outcome of one cluster in one execution. */
export const ExecutionResult = z
  .object({
    tenant: z.string(),
    executionId: z.string(),
    cluster: Dns1123Label,
    status: TargetStatus,
    health: Health,
    failure: FailureCode.optional(),
    reason: z.string().optional(),
    objects: z.number().int().nonnegative(),
    /** Objects left in place on purpose (`helm.sh/resource-policy: keep`, CRDs), as `Kind ns/name`. */
    kept: z.array(z.string()).max(50).optional(),
    batch: z.number().int().nonnegative(),
    wave: z.number().int().nonnegative().optional(),
    durationMs: z.number().nonnegative().optional(),
    updatedAt: z.string(),
  })
  .meta({ id: 'ExecutionResult' });
export type ExecutionResult = z.infer<typeof ExecutionResult>;

/** One batch of an execution's plan: which clusters, and which rendered manifest each gets. */
export const PlanBatch = z.object({
  tenant: z.string(),
  executionId: z.string(),
  index: z.number().int().nonnegative(),
  wave: z.number().int().nonnegative(),
  /** cluster name → render digest */
  clusters: z.record(z.string(), z.string()),
  /** cluster name → digest of the values its render came from (absent for removals). */
  values: z.record(z.string(), z.string()).optional(),
  /** The revision this batch applies, when not the execution's (a rollback's batches). */
  revision: z.number().int().positive().optional(),
});
export type PlanBatch = z.infer<typeof PlanBatch>;

// ---------------------------------------------------------------------------------------------
// Kubernetes objects, as plain data

/** A Kubernetes object as plain JSON. Only the fields Flotilla reads are typed. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    generation?: number;
    resourceVersion?: string;
    uid?: string;
    [key: string]: unknown;
  };
  [key: string]: unknown;
}

/**
 * The objects of one render. For a chart: `crds` are those of its `crds/` directories (applied
 * first, never deleted by Flotilla, as Helm never deletes them); `objects` are the release's own
 * (templated CRDs included); `hooks` are the objects Helm runs around an install, upgrade,
 * rollback or delete instead of keeping them in the release. Plain manifests have only `objects`.
 */
export interface RenderedManifests {
  readonly crds: KubeObject[];
  readonly objects: KubeObject[];
  readonly hooks?: KubeObject[];
  /** Chart.yaml of the chart rendered: present when the render is a Helm release. */
  readonly chart?: Record<string, unknown>;
  /** The chart's own values.yaml (Helm's release record keeps it). */
  readonly chartValues?: Values;
  /** Template path of objects and hooks (`shop/templates/web.yaml`), by `objectKey`. */
  readonly sources?: Record<string, string>;
}
