/**
 * Defaulting of built-in kinds, as the API server does before storing: the fields kubectl and
 * helm expect to find (a Deployment's strategy, a StatefulSet's update strategy, a container's
 * imagePullPolicy, a Service port's protocol and targetPort, a Secret's stringData folded into
 * data). Functions return new objects; inputs are never mutated.
 */
import { asArray, asObject, asString, isObject, type Json, type JsonObject } from './json.ts';

function withDefaults(obj: JsonObject | undefined, defaults: JsonObject): JsonObject {
  const out: JsonObject = { ...(obj ?? {}) };
  for (const key in defaults) {
    const v = defaults[key];
    if (out[key] === undefined && v !== undefined) out[key] = v;
  }
  return out;
}

/**
 * A strategy with its type defaulted to RollingUpdate (also inside an empty `{}`, which
 * `kubectl create --dry-run -o yaml` writes) and, for rolling updates, its parameters.
 */
function rollingStrategy(value: Json | undefined, rolling: JsonObject): JsonObject {
  const strategy = asObject(value) ?? {};
  const type = asString(strategy.type) ?? 'RollingUpdate';
  if (type !== 'RollingUpdate') return { ...strategy, type };
  return { ...strategy, type, rollingUpdate: withDefaults(asObject(strategy.rollingUpdate), rolling) };
}

function imagePullPolicy(image: string | undefined): string {
  if (!image) return 'IfNotPresent';
  const afterSlash = image.slice(image.lastIndexOf('/') + 1);
  if (image.includes('@')) return 'IfNotPresent';
  const colon = afterSlash.indexOf(':');
  if (colon < 0 || afterSlash.slice(colon + 1) === 'latest') return 'Always';
  return 'IfNotPresent';
}

function defaultContainer(raw: Json): Json {
  const c = asObject(raw);
  if (!c) return raw;
  const out = withDefaults(c, {
    imagePullPolicy: imagePullPolicy(asString(c.image)),
    terminationMessagePath: '/dev/termination-log',
    terminationMessagePolicy: 'File',
    resources: {},
  });
  const ports = asArray(c.ports);
  if (ports) out.ports = ports.map((p) => (isObject(p) ? withDefaults(p, { protocol: 'TCP' }) : p));
  return out;
}

/** Defaults of a PodSpec; `restartPolicy` is left alone for Jobs (they must set it). */
export function defaultPodSpec(spec: JsonObject | undefined, forJob = false): JsonObject {
  const base: JsonObject = {
    dnsPolicy: 'ClusterFirst',
    schedulerName: 'default-scheduler',
    securityContext: {},
    terminationGracePeriodSeconds: 30,
  };
  if (!forJob) base.restartPolicy = 'Always';
  const out = withDefaults(spec, base);
  for (const field of ['containers', 'initContainers'] as const) {
    const list = asArray(out[field]);
    if (list) out[field] = list.map(defaultContainer);
  }
  return out;
}

function defaultTemplate(template: Json | undefined, forJob = false): JsonObject {
  const t = asObject(template) ?? {};
  return { ...t, spec: defaultPodSpec(asObject(t.spec), forJob) };
}

/**
 * Applies the API server's defaults for `kind`. `defaultStorageClass` is the cluster's default
 * StorageClass (PersistentVolumeClaims without one get it).
 */
export function applyDefaults(kind: string, obj: JsonObject, defaultStorageClass?: string): JsonObject {
  const spec = asObject(obj.spec);
  switch (kind) {
    case 'Deployment':
      return {
        ...obj,
        spec: {
          ...withDefaults(spec, { replicas: 1, revisionHistoryLimit: 10, progressDeadlineSeconds: 600 }),
          strategy: rollingStrategy(spec?.strategy, { maxUnavailable: '25%', maxSurge: '25%' }),
          template: defaultTemplate(spec?.template),
        },
      };
    case 'ReplicaSet':
      return {
        ...obj,
        spec: { ...withDefaults(spec, { replicas: 1 }), template: defaultTemplate(spec?.template) },
      };
    case 'StatefulSet':
      return {
        ...obj,
        spec: {
          ...withDefaults(spec, {
            replicas: 1,
            podManagementPolicy: 'OrderedReady',
            revisionHistoryLimit: 10,
            persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Retain', whenScaled: 'Retain' },
          }),
          updateStrategy: rollingStrategy(spec?.updateStrategy, { partition: 0 }),
          template: defaultTemplate(spec?.template),
        },
      };
    case 'DaemonSet':
      return {
        ...obj,
        spec: {
          ...withDefaults(spec, { revisionHistoryLimit: 10 }),
          updateStrategy: rollingStrategy(spec?.updateStrategy, { maxUnavailable: 1, maxSurge: 0 }),
          template: defaultTemplate(spec?.template),
        },
      };
    case 'Job':
      return {
        ...obj,
        spec: {
          ...withDefaults(spec, {
            parallelism: 1,
            completions: 1,
            backoffLimit: 6,
            completionMode: 'NonIndexed',
            suspend: false,
          }),
          template: defaultTemplate(spec?.template, true),
        },
      };
    case 'CronJob': {
      const jobTemplate = asObject(spec?.jobTemplate) ?? {};
      const jobSpec = asObject(jobTemplate.spec) ?? {};
      return {
        ...obj,
        spec: {
          ...withDefaults(spec, {
            concurrencyPolicy: 'Allow',
            suspend: false,
            successfulJobsHistoryLimit: 3,
            failedJobsHistoryLimit: 1,
          }),
          jobTemplate: {
            ...jobTemplate,
            spec: { ...jobSpec, template: defaultTemplate(jobSpec.template, true) },
          },
        },
      };
    }
    case 'Pod':
      return { ...obj, spec: defaultPodSpec(spec) };
    case 'Service': {
      const type = asString(spec?.type) ?? 'ClusterIP';
      const base: JsonObject = { type, sessionAffinity: 'None' };
      if (type !== 'ExternalName') {
        base.ipFamilyPolicy = 'SingleStack';
        base.ipFamilies = ['IPv4'];
        base.internalTrafficPolicy = 'Cluster';
      }
      if (type === 'LoadBalancer' || type === 'NodePort') base.externalTrafficPolicy = 'Cluster';
      const out = withDefaults(spec, base);
      const ports = asArray(out.ports);
      if (ports) {
        out.ports = ports.map((p) => {
          const port = asObject(p);
          if (!port) return p;
          const d: JsonObject = { protocol: 'TCP' };
          if (port.port !== undefined) d.targetPort = port.port;
          return withDefaults(port, d);
        });
      }
      return { ...obj, spec: out };
    }
    case 'PersistentVolumeClaim': {
      const d: JsonObject = { volumeMode: 'Filesystem' };
      if (defaultStorageClass) d.storageClassName = defaultStorageClass;
      return { ...obj, spec: withDefaults(spec, d) };
    }
    case 'Secret': {
      const out: JsonObject = { ...obj, type: asString(obj.type) || 'Opaque' };
      const stringData = asObject(obj.stringData);
      if (stringData) {
        const data: JsonObject = { ...(asObject(obj.data) ?? {}) };
        for (const key in stringData) {
          const v = stringData[key];
          if (typeof v === 'string') data[key] = Buffer.from(v, 'utf8').toString('base64');
        }
        out.data = data;
        delete out.stringData;
      }
      return out;
    }
    case 'Namespace': {
      const metadata = asObject(obj.metadata) ?? {};
      const name = asString(metadata.name) ?? '';
      return {
        ...obj,
        metadata: {
          ...metadata,
          labels: { ...(asObject(metadata.labels) ?? {}), 'kubernetes.io/metadata.name': name },
        },
        spec: withDefaults(spec, { finalizers: ['kubernetes'] }),
      };
    }
    case 'CustomResourceDefinition': {
      const names = asObject(spec?.names) ?? {};
      const kindName = asString(names.kind) ?? '';
      return {
        ...obj,
        spec: {
          ...withDefaults(spec, { conversion: { strategy: 'None' } }),
          names: withDefaults(names, {
            singular: kindName.toLowerCase(),
            listKind: `${kindName}List`,
          }),
        },
      };
    }
    default:
      return obj;
  }
}
