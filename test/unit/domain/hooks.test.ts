import { describe, expect, it } from 'vitest';
import { hookOf, hookState, hooksFor, isHook, isKept } from '../../../domain/hooks.ts';
import type { KubeObject } from '../../../domain/model.ts';

function hook(kind: string, name: string, annotations: Record<string, string>): KubeObject {
  const apiVersion =
    kind === 'Job'
      ? 'batch/v1'
      : kind === 'Pod' || kind === 'ConfigMap' || kind === 'ServiceAccount'
        ? 'v1'
        : 'rbac.authorization.k8s.io/v1';
  return { apiVersion, kind, metadata: { name, namespace: 'ns', annotations } };
}

describe('hookOf', () => {
  it.each([
    ['pre-install', ['pre-install'], 0, ['before-hook-creation']],
    ['pre-install, post-upgrade', ['pre-install', 'post-upgrade'], 0, ['before-hook-creation']],
    ['test-success', ['test'], 0, ['before-hook-creation']],
    ['crd-install', [], 0, ['before-hook-creation']],
  ])('reads events %j', (events, expected, weight, policies) => {
    const parsed = hookOf(hook('Job', 'j', { 'helm.sh/hook': events }));
    expect(parsed).toMatchObject({ events: expected, weight, deletePolicies: policies });
  });

  it.each([
    ['-5', -5],
    ['+3', 3],
    ['10', 10],
    ['ten', 0],
    ['', 0],
  ])('reads weight %j as %d (unparsable is 0, as Helm)', (weight, expected) => {
    const parsed = hookOf(hook('Job', 'j', { 'helm.sh/hook': 'pre-install', 'helm.sh/hook-weight': weight }));
    expect(parsed?.weight).toBe(expected);
  });

  it('keeps known delete policies, drops unknown ones, and defaults to before-hook-creation', () => {
    const annotated = (policy: string) =>
      hookOf(hook('Job', 'j', { 'helm.sh/hook': 'post-install', 'helm.sh/hook-delete-policy': policy }))
        ?.deletePolicies;
    expect(annotated('hook-succeeded, hook-failed')).toEqual(['hook-succeeded', 'hook-failed']);
    expect(annotated('bogus')).toEqual(['before-hook-creation']);
    expect(annotated('hook-succeeded,bogus')).toEqual(['hook-succeeded']);
  });

  it('is undefined for an ordinary object, and isHook tells them apart', () => {
    const plain: KubeObject = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' } };
    expect(hookOf(plain)).toBeUndefined();
    expect(isHook(plain)).toBe(false);
    expect(isHook(hook('Job', 'j', { 'helm.sh/hook': 'nonsense' }))).toBe(true);
  });
});

describe('hooksFor', () => {
  const all = [
    hook('Job', 'migrate', { 'helm.sh/hook': 'pre-upgrade', 'helm.sh/hook-weight': '5' }),
    hook('ServiceAccount', 'runner', {
      'helm.sh/hook': 'pre-upgrade,pre-install',
      'helm.sh/hook-weight': '-5',
    }),
    hook('Job', 'b-seed', { 'helm.sh/hook': 'pre-upgrade' }),
    hook('ConfigMap', 'a-conf', { 'helm.sh/hook': 'pre-upgrade' }),
    hook('Job', 'a-seed', { 'helm.sh/hook': 'pre-upgrade' }),
    hook('Pod', 'check', { 'helm.sh/hook': 'test' }),
  ];

  it('orders by weight, then by kind as Helm installs them, then by name', () => {
    expect(hooksFor(all, 'pre-upgrade').map((h) => `${h.object.kind}/${h.object.metadata.name}`)).toEqual([
      'ServiceAccount/runner',
      'ConfigMap/a-conf',
      'Job/a-seed',
      'Job/b-seed',
      'Job/migrate',
    ]);
  });

  it('selects only the hooks of the event (test hooks never run on a deploy event)', () => {
    expect(hooksFor(all, 'pre-install').map((h) => h.object.metadata.name)).toEqual(['runner']);
    expect(hooksFor(all, 'post-install')).toEqual([]);
    expect(hooksFor(all, 'test').map((h) => h.object.metadata.name)).toEqual(['check']);
  });
});

describe('hookState', () => {
  const job = { apiVersion: 'batch/v1', kind: 'Job', name: 'j', namespace: 'ns' };
  const pod = { apiVersion: 'v1', kind: 'Pod', name: 'p', namespace: 'ns' };
  const withStatus = (status: unknown): KubeObject => ({
    apiVersion: 'x',
    kind: 'x',
    metadata: { name: 'x' },
    status,
  });

  it.each([
    [job, { conditions: [{ type: 'Complete', status: 'True' }] }, 'done'],
    [job, { conditions: [{ type: 'Failed', status: 'True', reason: 'BackoffLimitExceeded' }] }, 'failed'],
    [job, { active: 1 }, 'running'],
    [pod, { phase: 'Succeeded' }, 'done'],
    [pod, { phase: 'Failed' }, 'failed'],
    [pod, { phase: 'Running' }, 'running'],
    [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'c' }, {}, 'done'],
  ])('%j with status %j is %s', (ref, status, expected) => {
    expect(hookState(ref, withStatus(status)).state).toBe(expected);
  });

  it('counts a hook that is gone (removed by its TTL) as done', () => {
    expect(hookState(job, undefined).state).toBe('done');
  });

  it('carries the reason of a failed Job', () => {
    const state = hookState(
      job,
      withStatus({ conditions: [{ type: 'Failed', status: 'True', message: 'boom' }] }),
    );
    expect(state).toEqual({ state: 'failed', message: 'boom' });
  });
});

describe('isKept', () => {
  it.each([
    ['keep', true],
    [' Keep ', true],
    ['delete', false],
  ])('resource-policy %j is kept: %s', (policy, expected) => {
    expect(isKept({ metadata: { name: 'x', annotations: { 'helm.sh/resource-policy': policy } } })).toBe(
      expected,
    );
  });
});
