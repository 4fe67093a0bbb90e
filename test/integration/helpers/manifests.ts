/**
 * Plain-manifest services the deploy and rollout tests (and the rollout bench) deploy: a
 * Deployment `api` of two replicas, a StatefulSet `db`, and the inline `manifests` source that
 * carries such files in a deploy request.
 */

/** A manifests source of inline files (path → YAML), as a deploy request carries it. */
export function manifests(files: Record<string, string>) {
  return {
    type: 'manifests',
    files: Object.entries(files).map(([path, content]) => ({ path, content })),
  };
}

/** The Deployment `api`: two replicas of one container on `image`. */
export function apiWorkload(image: string): string {
  return [
    'apiVersion: apps/v1',
    'kind: Deployment',
    'metadata:',
    '  name: api',
    'spec:',
    '  replicas: 2',
    '  selector: { matchLabels: { app: api } }',
    '  template:',
    '    metadata: { labels: { app: api } }',
    `    spec: { containers: [{ name: api, image: "${image}" }] }`,
    '',
  ].join('\n');
}

/** The StatefulSet `db`: one replica of postgres:17. */
export const DATABASE = [
  'apiVersion: apps/v1',
  'kind: StatefulSet',
  'metadata:',
  '  name: db',
  'spec:',
  '  serviceName: db',
  '  replicas: 1',
  '  selector: { matchLabels: { app: db } }',
  '  template:',
  '    metadata: { labels: { app: db } }',
  '    spec: { containers: [{ name: db, image: "postgres:17" }] }',
  '',
].join('\n');
