/**
 * From work (domain/work.ts) and the renders it names to what the applier does on the cluster:
 * the render stamped with Flotilla's (and, for a chart, Helm's) marks, the hooks of the event,
 * and Helm's release record. The push steps and an agent both go through here, so a cluster gets
 * the same objects whichever way it is reached.
 */
import { manifestText } from '../../domain/helm-release.ts';
import { HOOK_SOURCE_PREFIX } from '../../domain/hooks.ts';
import {
  objectKey,
  refOf,
  releaseStamp,
  sortForApply,
  stampHooks,
  stampObjects,
} from '../../domain/manifests.ts';
import type { KubeObject, RenderedManifests } from '../../domain/model.ts';
import type { Work } from '../../domain/work.ts';
import type { Desired } from './applier.ts';
import type { ReleaseSpec } from './release-record.ts';

/** What the applier should do for `work`, given its render (apply) and the held one (removal hooks). */
export function desiredFrom(
  work: Work,
  render: RenderedManifests | undefined,
  held: RenderedManifests | undefined,
): Desired {
  const stamp = releaseStamp(
    { tenant: work.tenant, deployment: work.deployment, revision: work.revision },
    work.namespace,
    work.release,
  );
  const apply = work.action === 'apply' && render !== undefined;
  const hooksFrom = apply ? render : held;
  return {
    action: apply ? 'apply' : 'remove',
    ...(apply
      ? {
          manifests: {
            crds: stampObjects(render.crds, stamp),
            objects: sortForApply(stampObjects(render.objects, stamp)),
          },
        }
      : {}),
    hooks: hooksFrom?.hooks ? stampHooks(hooksFrom.hooks, stamp) : [],
    previous: work.previous,
    stamp,
    adopt: work.adopt,
    lifecycle: work.lifecycle,
    rollback: work.rollback,
    ...(work.release ? { release: releaseSpecOf(work, hooksFrom) } : {}),
  };
}

/** The Helm release record's content for one cluster. */
function releaseSpecOf(work: Work, render: RenderedManifests | undefined): ReleaseSpec {
  const sources = render?.sources ?? {};
  const withPath = (objects: readonly KubeObject[], prefix = '') =>
    objects.map((object) => {
      const path = sources[`${prefix}${objectKey(refOf(object))}`];
      return { object, ...(path ? { path } : {}) };
    });
  return {
    name: work.deployment,
    namespace: work.namespace,
    tenant: work.tenant,
    deployment: work.deployment,
    revision: work.revision,
    chart: render?.chart ?? { name: work.deployment },
    chartValues: render?.chartValues ?? {},
    config: work.config,
    manifest: render ? manifestText(withPath(render.objects)) : '',
    hooks: render?.hooks ? withPath(render.hooks, HOOK_SOURCE_PREFIX) : [],
  };
}
