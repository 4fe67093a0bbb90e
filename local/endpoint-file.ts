/**
 * The endpoint file: where a running local control plane says it listens and which token it
 * wants (`$FLOTILLA_HOME/endpoint.json`, default `~/.flotilla`, mode 0600), so the CLI finds it
 * without flags.
 */
import { chmodSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';

/** What the file holds. */
export interface EndpointRecord {
  readonly url: string;
  /** The API's bearer token: a secret, hence the file's 0600. */
  readonly token: string;
  readonly pid: number;
  readonly startedAt: string;
}

/** Flotilla's per-user directory: `$FLOTILLA_HOME`, or `~/.flotilla`. */
export function flotillaHome(env: NodeJS.ProcessEnv = process.env): string {
  return env.FLOTILLA_HOME ?? join(homedir(), '.flotilla');
}

/** The endpoint file's path. */
export function endpointFilePath(env: NodeJS.ProcessEnv = process.env): string {
  return join(flotillaHome(env), 'endpoint.json');
}

/** Write the file atomically with mode 0600 (in a 0700 directory). */
export function writeEndpointFile(path: string, record: EndpointRecord): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const temp = `${path}.${process.pid}.tmp`;
  writeFileSync(temp, `${JSON.stringify(record, null, 2)}\n`, { mode: 0o600 });
  chmodSync(temp, 0o600);
  renameSync(temp, path);
}

/** Remove the file, if it is still ours (another control plane may have replaced it). */
export function removeEndpointFile(path: string, url: string): void {
  const current = readRecord(path);
  if (current && current.url === url) rmSync(path, { force: true });
}

function readRecord(path: string): EndpointRecord | undefined {
  try {
    const value = JSON.parse(readFileSync(path, 'utf8')) as Partial<EndpointRecord>;
    if (typeof value.url === 'string' && typeof value.token === 'string') return value as EndpointRecord;
  } catch {
    // Missing or unreadable: there is no local endpoint.
  }
  return undefined;
}

/** The local endpoint, if a control plane wrote one. */
export function readEndpointFile(env: NodeJS.ProcessEnv = process.env): EndpointRecord | undefined {
  return readRecord(endpointFilePath(env));
}
