import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalSecretStore, SECRETS_FILE } from '../../../../adapters/local/secret-store.ts';
import { NotFoundError, ValidationError } from '../../../../domain/errors.ts';

const TOKEN = 'eyJhbGciOiJSUzI1NiJ9.super-secret-token';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'flotilla-secrets-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('LocalSecretStore', () => {
  it('stores a secret under a local:secret/ reference and gives it back', async () => {
    const secrets = new LocalSecretStore();
    const ref = await secrets.put('clusters/edge-1/token', TOKEN);
    expect(ref).toBe('local:secret/clusters/edge-1/token');
    expect(await secrets.get(ref)).toBe(TOKEN);
  });

  it('overwrites a secret put again under the same name', async () => {
    const secrets = new LocalSecretStore();
    const ref = await secrets.put('edge-1', 'old');
    expect(await secrets.put('edge-1', 'new')).toBe(ref);
    expect(await secrets.get(ref)).toBe('new');
  });

  it('says NotFoundError for a missing secret, naming it and not any value', async () => {
    const secrets = new LocalSecretStore();
    await secrets.put('edge-1', TOKEN);
    const error = await secrets.get('local:secret/edge-2').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NotFoundError);
    expect((error as Error).message).toContain('edge-2');
    expect((error as Error).message).not.toContain(TOKEN);
  });

  it('refuses malformed references, bad names and empty values', async () => {
    const secrets = new LocalSecretStore();
    await expect(secrets.get('arn:aws:secretsmanager:eu-west-1:1:secret:x')).rejects.toBeInstanceOf(
      ValidationError,
    );
    await expect(secrets.put('has space', 'v')).rejects.toBeInstanceOf(ValidationError);
    await expect(secrets.put('', 'v')).rejects.toBeInstanceOf(ValidationError);
    await expect(secrets.put('edge-1', '')).rejects.toBeInstanceOf(ValidationError);
    expect(secrets.names()).toEqual([]);
  });

  it('deletes, and deleting again is not an error', async () => {
    const secrets = new LocalSecretStore();
    const ref = await secrets.put('edge-1', TOKEN);
    await secrets.delete(ref);
    await secrets.delete(ref);
    await expect(secrets.get(ref)).rejects.toBeInstanceOf(NotFoundError);
  });

  it('never shows a value when the store is printed or serialized', async () => {
    const secrets = new LocalSecretStore();
    await secrets.put('edge-1', TOKEN);
    expect(JSON.stringify(secrets)).not.toContain(TOKEN);
    expect(inspect(secrets, { depth: 10, showHidden: true })).not.toContain(TOKEN);
    expect(String(secrets)).not.toContain(TOKEN);
  });

  it('keeps secrets in a 0600 file in a 0700 directory, across restarts', async () => {
    const home = join(dir, 'data');
    const first = new LocalSecretStore({ dir: home });
    const ref = await first.put('edge-1', TOKEN);
    await first.put('edge-2', 'second');

    const file = join(home, SECRETS_FILE);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect((await stat(home)).mode & 0o777).toBe(0o700);

    const again = new LocalSecretStore({ dir: home });
    expect(await again.get(ref)).toBe(TOKEN);
    expect(again.names()).toEqual(['edge-1', 'edge-2']);
    await again.delete(ref);
    expect(new LocalSecretStore({ dir: home }).names()).toEqual(['edge-2']);
  });

  it('loses no write when many puts race', async () => {
    const secrets = new LocalSecretStore({ dir });
    await Promise.all(Array.from({ length: 25 }, (_, i) => secrets.put(`s-${i}`, `v-${i}`)));
    const onDisk = JSON.parse(await readFile(join(dir, SECRETS_FILE), 'utf8')) as Record<string, string>;
    expect(Object.keys(onDisk)).toHaveLength(25);
    expect(onDisk['s-24']).toBe('v-24');
  });

  it('refuses an unreadable file without quoting its content', async () => {
    await writeFile(join(dir, SECRETS_FILE), `{"edge-1": "${TOKEN}"`);
    let error: unknown;
    try {
      new LocalSecretStore({ dir });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as Error).message).not.toContain(TOKEN);
  });
});
