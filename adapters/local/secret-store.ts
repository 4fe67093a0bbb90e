/**
 * Secrets on one machine: cluster bearer tokens and kubeconfigs for the local control plane.
 * In memory, or in one JSON file (`secrets.json`, mode 0600, in a 0700 directory) under the data
 * directory. A secret is referenced as `local:secret/<name>` on the cluster record. Values never
 * appear in an error, a log line or the store's printed form; names follow Secrets Manager's
 * alphabet, so a name that works here works on AWS.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { chmod, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { NotFoundError, ValidationError } from '../../domain/errors.ts';
import type { SecretStore } from '../../domain/ports.ts';

/** Every reference this store hands out starts with this. */
export const LOCAL_SECRET_PREFIX = 'local:secret/';

const NAME = /^[A-Za-z0-9/_+=.@-]{1,512}$/;

/** The file, under the data directory, that holds the secrets. */
export const SECRETS_FILE = 'secrets.json';

/** The SecretStore of the local control plane. */
export class LocalSecretStore implements SecretStore {
  readonly #values: Map<string, string>;
  readonly #file: string | undefined;
  /** Writes to the file, one after the other, so a later write never loses to an earlier one. */
  #writing: Promise<void> = Promise.resolve();
  /** The write not started yet that will carry the changes made since the last one started. */
  #pending: Promise<void> | undefined;

  /**
   * In memory, or (with `dir`) kept in `<dir>/secrets.json`, read once here and rewritten after
   * changes (0600, through a renamed temporary file).
   */
  constructor(options: { dir?: string } = {}) {
    this.#values = new Map();
    if (!options.dir) {
      this.#file = undefined;
      return;
    }
    mkdirSync(options.dir, { recursive: true, mode: 0o700 });
    this.#file = join(options.dir, SECRETS_FILE);
    let values: Record<string, unknown> = {};
    try {
      values = JSON.parse(readFileSync(this.#file, 'utf8')) as Record<string, unknown>;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
        // Say which file, never what is in it.
        throw new ValidationError([{ path: this.#file, message: 'is not a secrets file Flotilla can read' }]);
      }
    }
    for (const [name, value] of Object.entries(values)) {
      if (typeof value === 'string') this.#values.set(name, value);
    }
  }

  async put(name: string, value: string): Promise<string> {
    if (!NAME.test(name)) {
      throw new ValidationError([
        { path: 'secret name', message: 'must be 1 to 512 ASCII letters, digits or /_+=.@- characters' },
      ]);
    }
    if (value === '') throw new ValidationError([{ path: 'secret', message: 'must not be empty' }]);
    this.#values.set(name, value);
    await this.#persist();
    return `${LOCAL_SECRET_PREFIX}${name}`;
  }

  refOf(name: string): string {
    return `${LOCAL_SECRET_PREFIX}${name}`;
  }

  async get(ref: string): Promise<string> {
    const name = nameOf(ref);
    const value = this.#values.get(name);
    if (value === undefined) throw new NotFoundError('secret', name);
    return value;
  }

  /** Deleting a secret that is not there is not an error: the outcome is the one asked for. */
  async delete(ref: string): Promise<void> {
    if (this.#values.delete(nameOf(ref))) await this.#persist();
  }

  /** Names of the stored secrets (never their values). */
  names(): string[] {
    return [...this.#values.keys()].sort();
  }

  /** Printing the store shows how many secrets it holds, nothing more. */
  toJSON(): { secrets: number } {
    return { secrets: this.#values.size };
  }

  /**
   * Write the file with every change made so far. Changes made while a write is on its way share
   * the one write after it (its snapshot is taken when it starts), so importing thousands of
   * clusters rewrites the file far fewer times than it stores secrets.
   */
  #persist(): Promise<void> {
    const file = this.#file;
    if (!file) return Promise.resolve();
    if (this.#pending) return this.#pending;
    const write = this.#writing.then(async () => {
      this.#pending = undefined;
      const snapshot = JSON.stringify(Object.fromEntries(this.#values));
      const temp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
      try {
        await writeFile(temp, snapshot, { mode: 0o600 });
        await chmod(temp, 0o600);
        await rename(temp, file);
      } catch (error) {
        await rm(temp, { force: true });
        throw error;
      }
    });
    this.#pending = write;
    // A failed write must not block the next one; the callers of this one still see the failure.
    this.#writing = write.catch(() => undefined);
    return write;
  }
}

/** The secret name inside a `local:secret/<name>` reference. */
function nameOf(ref: string): string {
  const name = ref.startsWith(LOCAL_SECRET_PREFIX) ? ref.slice(LOCAL_SECRET_PREFIX.length) : '';
  if (!NAME.test(name)) {
    throw new ValidationError([
      { path: 'secretRef', message: `must look like ${LOCAL_SECRET_PREFIX}<name>` },
    ]);
  }
  return name;
}
