/**
 * Server-side printing (`Accept: application/json;as=Table;v=v1;g=meta.k8s.io`): the columns
 * `kubectl get` shows for the common kinds (READY/UP-TO-DATE/AVAILABLE for Deployments, STATUS
 * and VERSION for Nodes, ...), a CRD's additionalPrinterColumns for custom resources, and NAME
 * and AGE for the rest.
 */
import {
  asArray,
  asNumber,
  asObject,
  asString,
  getPath,
  type Json,
  type JsonObject,
  type KubeObject,
  meta,
  stringMap,
} from './json.ts';
import type { ResourceType } from './resources.ts';

/** A column: what `kubectl get` prints (priority 1 only with `-o wide`). */
interface Column {
  readonly name: string;
  readonly type: 'string' | 'integer' | 'date' | 'number' | 'boolean';
  readonly format?: string;
  readonly priority?: number;
  readonly cell: (obj: KubeObject) => Json;
}

/** True when the Accept header asks for a Table. */
export function wantsTable(accept: string | undefined): boolean {
  return accept?.includes('as=Table') === true && accept.includes('g=meta.k8s.io');
}

/** kubectl's HumanDuration: 45s, 5m10s, 3h20m, 2d4h, 3y20d. */
export function humanDuration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 120) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 10) return s % 60 === 0 ? `${m}m` : `${m}m${s % 60}s`;
  if (m < 180) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 8) return m % 60 === 0 ? `${h}h` : `${h}h${m % 60}m`;
  if (h < 48) return `${h}h`;
  const d = Math.floor(h / 24);
  if (h < 192) return h % 24 === 0 ? `${d}d` : `${d}d${h % 24}h`;
  if (d < 730) return `${d}d`;
  const y = Math.floor(d / 365);
  return d % 365 === 0 ? `${y}y` : `${y}y${d % 365}d`;
}

function age(obj: KubeObject): string {
  const created = asString(meta(obj).creationTimestamp);
  return created ? humanDuration(Date.now() - Date.parse(created)) : '<unknown>';
}

const spec = (o: KubeObject) => asObject(o.spec) ?? {};
const status = (o: KubeObject) => asObject(o.status) ?? {};
const num = (v: Json | undefined) => asNumber(v) ?? 0;

function containers(o: KubeObject): JsonObject[] {
  const podSpec = asObject(asObject(spec(o).template)?.spec) ?? {};
  return (asArray(podSpec.containers) ?? []).map((c) => asObject(c) ?? {});
}

function selectorText(o: KubeObject): string {
  const labels = stringMap(asObject(spec(o).selector)?.matchLabels);
  const text = Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
  return text || '<none>';
}

const NAME: Column = {
  name: 'Name',
  type: 'string',
  format: 'name',
  cell: (o) => asString(meta(o).name) ?? '',
};
/**
 * A Pod's STATUS as the API server's printer computes it: the reason of a container that is
 * waiting or terminated (`Completed`, `Error`, `CrashLoopBackOff`) wins over the phase.
 */
function podStatusCell(o: JsonObject): string {
  let reason = asString(status(o).reason) ?? asString(status(o).phase) ?? 'Pending';
  for (const raw of asArray(status(o).containerStatuses) ?? []) {
    const state = asObject(asObject(raw)?.state) ?? {};
    const waiting = asString(asObject(state.waiting)?.reason);
    const terminated = asObject(state.terminated);
    if (waiting) reason = waiting;
    else if (terminated) reason = asString(terminated.reason) ?? `ExitCode:${String(terminated.exitCode)}`;
  }
  return reason;
}

const AGE: Column = { name: 'Age', type: 'string', cell: age };
const WORKLOAD_WIDE: Column[] = [
  {
    name: 'Containers',
    type: 'string',
    priority: 1,
    cell: (o) =>
      containers(o)
        .map((c) => asString(c.name))
        .join(','),
  },
  {
    name: 'Images',
    type: 'string',
    priority: 1,
    cell: (o) =>
      containers(o)
        .map((c) => asString(c.image))
        .join(','),
  },
  { name: 'Selector', type: 'string', priority: 1, cell: selectorText },
];

function condition(o: KubeObject, type: string): JsonObject | undefined {
  return (asArray(status(o).conditions) ?? []).map(asObject).find((c) => c?.type === type);
}

function servicePorts(o: KubeObject): string {
  const ports = (asArray(spec(o).ports) ?? []).map((p) => asObject(p) ?? {});
  if (ports.length === 0) return '<none>';
  return ports
    .map(
      (p) =>
        `${String(p.port)}${p.nodePort !== undefined ? `:${String(p.nodePort)}` : ''}/${asString(p.protocol) ?? 'TCP'}`,
    )
    .join(',');
}

function externalIp(o: KubeObject): string {
  const type = asString(spec(o).type) ?? 'ClusterIP';
  if (type === 'ExternalName') return asString(spec(o).externalName) ?? '<none>';
  const ingress = (asArray(asObject(status(o).loadBalancer)?.ingress) ?? []).map((i) => asObject(i) ?? {});
  const addresses = ingress.map((i) => asString(i.ip) ?? asString(i.hostname) ?? '').filter((a) => a);
  if (addresses.length > 0) return addresses.join(',');
  return type === 'LoadBalancer' ? '<pending>' : '<none>';
}

function nodeRoles(o: KubeObject): string {
  const roles = Object.keys(stringMap(meta(o).labels))
    .filter((k) => k.startsWith('node-role.kubernetes.io/'))
    .map((k) => k.slice('node-role.kubernetes.io/'.length));
  return roles.length > 0 ? roles.sort().join(',') : '<none>';
}

function nodeAddress(o: KubeObject, type: string): string {
  const a = (asArray(status(o).addresses) ?? []).map(asObject).find((x) => x?.type === type);
  return asString(a?.address) ?? '<none>';
}

const COLUMNS: Readonly<Record<string, readonly Column[]>> = {
  Node: [
    NAME,
    {
      name: 'Status',
      type: 'string',
      cell: (o) => (condition(o, 'Ready')?.status === 'True' ? 'Ready' : 'NotReady'),
    },
    { name: 'Roles', type: 'string', cell: nodeRoles },
    AGE,
    {
      name: 'Version',
      type: 'string',
      cell: (o) => asString(asObject(status(o).nodeInfo)?.kubeletVersion) ?? '',
    },
    { name: 'Internal-IP', type: 'string', priority: 1, cell: (o) => nodeAddress(o, 'InternalIP') },
    { name: 'External-IP', type: 'string', priority: 1, cell: (o) => nodeAddress(o, 'ExternalIP') },
    {
      name: 'OS-Image',
      type: 'string',
      priority: 1,
      cell: (o) => asString(asObject(status(o).nodeInfo)?.osImage) ?? '',
    },
    {
      name: 'Kernel-Version',
      type: 'string',
      priority: 1,
      cell: (o) => asString(asObject(status(o).nodeInfo)?.kernelVersion) ?? '',
    },
    {
      name: 'Container-Runtime',
      type: 'string',
      priority: 1,
      cell: (o) => asString(asObject(status(o).nodeInfo)?.containerRuntimeVersion) ?? '',
    },
  ],
  Namespace: [NAME, { name: 'Status', type: 'string', cell: (o) => asString(status(o).phase) ?? '' }, AGE],
  Deployment: [
    NAME,
    {
      name: 'Ready',
      type: 'string',
      cell: (o) => `${num(status(o).readyReplicas)}/${num(spec(o).replicas)}`,
    },
    { name: 'Up-to-date', type: 'integer', cell: (o) => num(status(o).updatedReplicas) },
    { name: 'Available', type: 'integer', cell: (o) => num(status(o).availableReplicas) },
    AGE,
    ...WORKLOAD_WIDE,
  ],
  StatefulSet: [
    NAME,
    {
      name: 'Ready',
      type: 'string',
      cell: (o) => `${num(status(o).readyReplicas)}/${num(spec(o).replicas)}`,
    },
    AGE,
    ...WORKLOAD_WIDE.slice(0, 2),
  ],
  ReplicaSet: [
    NAME,
    { name: 'Desired', type: 'integer', cell: (o) => num(spec(o).replicas) },
    { name: 'Current', type: 'integer', cell: (o) => num(status(o).replicas) },
    { name: 'Ready', type: 'integer', cell: (o) => num(status(o).readyReplicas) },
    AGE,
    ...WORKLOAD_WIDE,
  ],
  DaemonSet: [
    NAME,
    { name: 'Desired', type: 'integer', cell: (o) => num(status(o).desiredNumberScheduled) },
    { name: 'Current', type: 'integer', cell: (o) => num(status(o).currentNumberScheduled) },
    { name: 'Ready', type: 'integer', cell: (o) => num(status(o).numberReady) },
    { name: 'Up-to-date', type: 'integer', cell: (o) => num(status(o).updatedNumberScheduled) },
    { name: 'Available', type: 'integer', cell: (o) => num(status(o).numberAvailable) },
    {
      name: 'Node Selector',
      type: 'string',
      cell: (o) => {
        const sel = stringMap(asObject(asObject(spec(o).template)?.spec)?.nodeSelector);
        const text = Object.entries(sel)
          .map(([k, v]) => `${k}=${v}`)
          .join(',');
        return text || '<none>';
      },
    },
    AGE,
    ...WORKLOAD_WIDE,
  ],
  Pod: [
    NAME,
    {
      name: 'Ready',
      type: 'string',
      cell: (o) => {
        const statuses = (asArray(status(o).containerStatuses) ?? []).map((c) => asObject(c) ?? {});
        const total = (asArray(spec(o).containers) ?? []).length;
        return `${statuses.filter((c) => c.ready === true).length}/${total}`;
      },
    },
    { name: 'Status', type: 'string', cell: podStatusCell },
    {
      name: 'Restarts',
      type: 'string',
      cell: (o) =>
        String(
          (asArray(status(o).containerStatuses) ?? [])
            .map((c) => asObject(c)?.restartCount)
            .reduce<number>((sum, n) => sum + (typeof n === 'number' ? n : 0), 0),
        ),
    },
    AGE,
    { name: 'IP', type: 'string', priority: 1, cell: (o) => asString(status(o).podIP) ?? '<none>' },
    { name: 'Node', type: 'string', priority: 1, cell: (o) => asString(spec(o).nodeName) ?? '<none>' },
  ],
  Service: [
    NAME,
    { name: 'Type', type: 'string', cell: (o) => asString(spec(o).type) ?? 'ClusterIP' },
    { name: 'Cluster-IP', type: 'string', cell: (o) => asString(spec(o).clusterIP) ?? '<none>' },
    { name: 'External-IP', type: 'string', cell: externalIp },
    { name: 'Port(s)', type: 'string', cell: servicePorts },
    AGE,
    {
      name: 'Selector',
      type: 'string',
      priority: 1,
      cell: (o) =>
        Object.entries(stringMap(spec(o).selector))
          .map(([k, v]) => `${k}=${v}`)
          .join(',') || '<none>',
    },
  ],
  Job: [
    NAME,
    {
      name: 'Status',
      type: 'string',
      cell: (o) =>
        condition(o, 'Complete')?.status === 'True'
          ? 'Complete'
          : condition(o, 'Failed')
            ? 'Failed'
            : 'Running',
    },
    {
      name: 'Completions',
      type: 'string',
      cell: (o) => `${num(status(o).succeeded)}/${num(spec(o).completions) || 1}`,
    },
    {
      name: 'Duration',
      type: 'string',
      cell: (o) => {
        const start = Date.parse(asString(status(o).startTime) ?? '');
        const end = Date.parse(asString(status(o).completionTime) ?? '') || Date.now();
        return Number.isNaN(start) ? '' : humanDuration(end - start);
      },
    },
    AGE,
  ],
  CronJob: [
    NAME,
    { name: 'Schedule', type: 'string', cell: (o) => asString(spec(o).schedule) ?? '' },
    { name: 'Timezone', type: 'string', cell: (o) => asString(spec(o).timeZone) ?? '<none>' },
    { name: 'Suspend', type: 'boolean', cell: (o) => spec(o).suspend === true },
    { name: 'Active', type: 'integer', cell: (o) => (asArray(status(o).active) ?? []).length },
    { name: 'Last Schedule', type: 'string', cell: () => '<none>' },
    AGE,
  ],
  ConfigMap: [
    NAME,
    { name: 'Data', type: 'integer', cell: (o) => Object.keys(asObject(o.data) ?? {}).length },
    AGE,
  ],
  Secret: [
    NAME,
    { name: 'Type', type: 'string', cell: (o) => asString(o.type) ?? 'Opaque' },
    { name: 'Data', type: 'integer', cell: (o) => Object.keys(asObject(o.data) ?? {}).length },
    AGE,
  ],
  PersistentVolumeClaim: [
    NAME,
    { name: 'Status', type: 'string', cell: (o) => asString(status(o).phase) ?? 'Pending' },
    { name: 'Volume', type: 'string', cell: (o) => asString(spec(o).volumeName) ?? '' },
    { name: 'Capacity', type: 'string', cell: (o) => asString(asObject(status(o).capacity)?.storage) ?? '' },
    {
      name: 'Access Modes',
      type: 'string',
      cell: (o) =>
        (asArray(status(o).accessModes) ?? [])
          .map(
            (m) =>
              ({ ReadWriteOnce: 'RWO', ReadOnlyMany: 'ROX', ReadWriteMany: 'RWX', ReadWriteOncePod: 'RWOP' })[
                String(m)
              ] ?? String(m),
          )
          .join(','),
    },
    { name: 'StorageClass', type: 'string', cell: (o) => asString(spec(o).storageClassName) ?? '<unset>' },
    AGE,
  ],
  Ingress: [
    NAME,
    { name: 'Class', type: 'string', cell: (o) => asString(spec(o).ingressClassName) ?? '<none>' },
    {
      name: 'Hosts',
      type: 'string',
      cell: (o) =>
        (asArray(spec(o).rules) ?? []).map((r) => asString(asObject(r)?.host) ?? '*').join(',') || '*',
    },
    { name: 'Address', type: 'string', cell: (o) => externalIp(o).replace('<none>', '') },
    {
      name: 'Ports',
      type: 'string',
      cell: (o) => ((asArray(spec(o).tls) ?? []).length > 0 ? '80, 443' : '80'),
    },
    AGE,
  ],
  CustomResourceDefinition: [
    NAME,
    { name: 'Created At', type: 'date', cell: (o) => asString(meta(o).creationTimestamp) ?? '' },
  ],
};

/** Evaluates the simple JSONPaths printer columns use (`.spec.replicas`, `.status.conditions[0].type`). */
function jsonPath(obj: KubeObject, path: string): Json | undefined {
  const parts = path
    .replace(/^\./, '')
    .split('.')
    .flatMap((p) => p.split(/\[(\d+)\]/).filter((x) => x !== ''));
  let cur: Json | undefined = obj;
  for (const part of parts) {
    if (Array.isArray(cur)) cur = cur[Number(part)];
    else cur = getPath(cur, [part]);
    if (cur === undefined) return undefined;
  }
  return cur;
}

function customColumns(type: ResourceType, version: string): Column[] {
  const printer = type.crd?.columns?.[version] ?? [];
  const out: Column[] = [NAME];
  let hasAge = false;
  for (const c of printer) {
    if (c.jsonPath === '.metadata.creationTimestamp') {
      hasAge = true;
      out.push(AGE);
      continue;
    }
    const columnType =
      c.type === 'integer' || c.type === 'number' || c.type === 'boolean' ? c.type : 'string';
    out.push({
      name: c.name,
      type: columnType,
      priority: c.priority,
      cell: (o) => {
        const v = jsonPath(o, c.jsonPath);
        return v === undefined || v === null ? null : typeof v === 'object' ? JSON.stringify(v) : v;
      },
    });
  }
  if (!hasAge) out.push(AGE);
  return out;
}

/** The Table for `objects` (`includeObject`: None, Metadata (default) or Object). */
export function toTable(
  type: ResourceType,
  version: string,
  objects: readonly KubeObject[],
  resourceVersion: string,
  includeObject: string | null,
): JsonObject {
  const columns = type.crd ? customColumns(type, version) : (COLUMNS[type.kind] ?? [NAME, AGE]);
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: { resourceVersion },
    columnDefinitions: columns.map((c) => ({
      name: c.name,
      type: c.type,
      format: c.format ?? '',
      description: c.name,
      priority: c.priority ?? 0,
    })),
    rows: objects.map((o) => {
      const row: JsonObject = { cells: columns.map((c) => c.cell(o)) };
      if (includeObject === 'Object') row.object = o;
      else if (includeObject !== 'None') {
        row.object = { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: meta(o) };
      }
      return row;
    }),
  };
}
