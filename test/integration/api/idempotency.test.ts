/**
 * Idempotency-Key on PUT /deployments/{name}: a repeat with the same key (a CI job re-run)
 * attaches to the execution the first request started — while it runs and after it ended —
 * instead of starting another; the same key with another request is refused; a bad key is a 400.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ControlPlane, startControlPlane } from '../../../local/control-plane.ts';
import { manifests } from '../helpers/manifests.ts';
import { waitForExecution } from './support.ts';

let plane: ControlPlane;

beforeAll(async () => {
  plane = await startControlPlane({ simulate: 3, waitMs: 20 });
});

afterAll(async () => {
  await plane?.stop();
});

function body(greeting: string) {
  return {
    name: 'idem',
    namespace: 'idem',
    source: manifests({
      'c.yaml': `apiVersion: v1\nkind: ConfigMap\nmetadata: { name: c }\ndata: { greeting: "${greeting}" }\n`,
    }),
    target: { selector: { matchLabels: { fleet: 'simulated' } } },
  };
}

async function put(payload: unknown, key?: string) {
  const response = await fetch(`${plane.url}/deployments/idem`, {
    method: 'PUT',
    headers: {
      authorization: `Bearer ${plane.token}`,
      'content-type': 'application/json',
      ...(key ? { 'Idempotency-Key': key } : {}),
    },
    body: JSON.stringify(payload),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describe('Idempotency-Key', () => {
  it('attaches a repeat to the execution the first request started, running or ended', async () => {
    // Act: the first request, a repeat at once (the run holds the deployment), a repeat after the end.
    const first = await put(body('one'), 'run-42-attempt');
    const running = await put(body('one'), 'run-42-attempt');
    await waitForExecution(plane, String(first.body.executionId));
    const ended = await put(body('one'), 'run-42-attempt');

    // Assess
    expect(first.status).toBe(202);
    expect(first.body.attached).toBeUndefined();
    for (const repeat of [running, ended]) {
      expect(repeat.status).toBe(202);
      expect(repeat.body).toMatchObject({ executionId: first.body.executionId, attached: true });
    }
    const executions = await plane.deps.store.listExecutions('default', { deployment: 'idem' });
    expect(executions).toHaveLength(1);
  });

  it('refuses the same key with another request, and a key that is no header value', async () => {
    const other = await put(body('two'), 'run-42-attempt');
    expect(other.status).toBe(400);
    expect(other.body.issues).toEqual([
      expect.objectContaining({ path: 'Idempotency-Key', message: expect.stringMatching(/another request/) }),
    ]);
    const bad = await put(body('two'), 'x'.repeat(256));
    expect(bad.status).toBe(400);
    expect((await plane.deps.store.listExecutions('default', { deployment: 'idem' })).length).toBe(1);
  });
});
