/**
 * Tenancy from the command line: `flotilla whoami`, `flotilla tenants create|list` and
 * `flotilla cluster-sets put|list|get|delete` (the platform administrator's), and
 * `flotilla tokens create|list|revoke` (a tenant admin's, in its tenant; the platform
 * administrator names the tenant with `--tenant`).
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { parse } from 'yaml';
import { CliError, oneLine } from '../errors.ts';
import { ago, print } from '../output.ts';
import { type CommonOptions, setup, withCommonOptions } from './shared.ts';

interface Me {
  principal: { kind: string; subject: string };
  tenant: string;
  role: string;
  actions: Record<string, { allowed: boolean; reason?: string }>;
}

interface TenantView {
  name: string;
  description?: string;
  createdAt: string;
}

interface TokenView {
  id: string;
  tenant: string;
  role: string;
  name: string;
  createdAt: string;
  createdBy: string;
  revokedAt?: string;
  expiresAt?: string;
  token?: string;
}

interface ClusterSetView {
  name: string;
  selector: unknown;
  bindings: Array<{
    tenant: string;
    namespaces: string[];
    clusterScoped: boolean | string[];
    sources: string[];
  }>;
}

interface TokenOptions extends CommonOptions {
  readonly role?: string;
  readonly name?: string;
  readonly expiresInDays?: string;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The API body of a cluster set file: `{ kind: ClusterSet, metadata: { name }, spec }` or the body itself. */
export function clusterSetFromFile(path: string, name: string): Record<string, unknown> {
  let document: unknown;
  try {
    document = parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new CliError(`${path}: ${oneLine(error)}`);
  }
  if (!isRecord(document)) throw new CliError(`${path}: expected a mapping (a cluster set)`);
  const spec = document.kind === 'ClusterSet' && isRecord(document.spec) ? document.spec : document;
  const { name: _ignored, ...rest } = spec;
  return { name, ...rest };
}

function describeKinds(kinds: boolean | string[]): string {
  return kinds === true ? 'any' : kinds === false ? 'none' : kinds.join(',');
}

/** Register `whoami`, `tenants`, `tokens` and `cluster-sets`. */
export function registerTenancy(program: Command): void {
  withCommonOptions(
    program
      .command('whoami')
      .description('Who the API takes you for: principal, tenant, role, allowed actions'),
  ).action(async (options: CommonOptions) => {
    const { client, format } = setup(options);
    const me = await client.request<Me>('GET', '/me');
    print(format, me, () => {
      const denied = Object.entries(me.actions).filter(([, d]) => !d.allowed);
      const lines = [
        `principal: ${me.principal.subject} (${me.principal.kind})`,
        `tenant:    ${me.tenant}`,
        `role:      ${me.role}`,
        `may:       ${Object.entries(me.actions)
          .filter(([, d]) => d.allowed)
          .map(([a]) => a)
          .join(', ')}`,
        ...(denied.length > 0 ? [`may not:   ${denied.map(([a]) => a).join(', ')}`] : []),
      ];
      return `${lines.join('\n')}\n`;
    });
  });

  const tenants = program.command('tenants').description('Tenants (the platform administrator)');
  withCommonOptions(
    tenants
      .command('create')
      .description('Create a tenant (bind it cluster sets with flotilla cluster-sets put)')
      .argument('<name>')
      .option('--description <text>', 'what the tenant is for'),
  ).action(async (name: string, options: CommonOptions & { description?: string }) => {
    const { client, format } = setup(options);
    const made = await client.request<TenantView>('POST', '/tenants', {
      name,
      ...(options.description ? { description: options.description } : {}),
    });
    print(format, made, () => `Tenant ${made.name} created.\n`);
  });
  withCommonOptions(tenants.command('list').description('List tenants')).action(
    async (options: CommonOptions) => {
      const { client, format } = setup(options);
      const { items } = await client.request<{ items: TenantView[] }>('GET', '/tenants');
      print(format, items, () => ({
        headers: ['NAME', 'CREATED', 'DESCRIPTION'],
        rows: items.map((t) => [t.name, ago(t.createdAt), t.description ?? '']),
      }));
    },
  );

  const tokens = program.command('tokens').description("API tokens of a tenant (a tenant admin's)");
  withCommonOptions(
    tokens
      .command('create')
      .description('Make a token for a role; it is printed once and kept nowhere')
      .requiredOption('--role <role>', 'viewer, operator or admin')
      .option('--name <name>', 'who or what it is for', 'cli')
      .option('--expires-in-days <days>', 'days until it stops working (default: never)'),
  ).action(async (options: TokenOptions) => {
    const { client, format } = setup(options);
    const days = options.expiresInDays === undefined ? undefined : Number(options.expiresInDays);
    if (days !== undefined && !Number.isInteger(days))
      throw new CliError('--expires-in-days: a whole number of days');
    const made = await client.request<TokenView>('POST', '/tokens', {
      role: options.role,
      name: options.name,
      ...(days !== undefined ? { expiresInDays: days } : {}),
    });
    print(
      format,
      made,
      () =>
        `Token ${made.id} (${made.role} of tenant ${made.tenant}):\n${made.token}\nIt is shown this once; Flotilla keeps only its hash.\n`,
    );
  });
  withCommonOptions(tokens.command('list').description("The tenant's tokens (never their values)")).action(
    async (options: CommonOptions) => {
      const { client, format } = setup(options);
      const { items } = await client.request<{ items: TokenView[] }>('GET', '/tokens');
      print(format, items, () => ({
        headers: ['ID', 'ROLE', 'NAME', 'CREATED', 'BY', 'STATE'],
        rows: items.map((t) => [
          t.id,
          t.role,
          t.name,
          ago(t.createdAt),
          t.createdBy,
          t.revokedAt ? `revoked ${ago(t.revokedAt)}` : t.expiresAt ? `until ${t.expiresAt}` : 'active',
        ]),
      }));
    },
  );
  withCommonOptions(tokens.command('revoke').description('Revoke a token at once').argument('<id>')).action(
    async (id: string, options: CommonOptions) => {
      const { client, format } = setup(options);
      const revoked = await client.request<TokenView>('DELETE', `/tokens/${encodeURIComponent(id)}`);
      print(format, revoked, () => `Token ${revoked.id} revoked.\n`);
    },
  );

  const sets = program
    .command('cluster-sets')
    .description('Cluster sets: which platform clusters each tenant gets, and what it may do there');
  withCommonOptions(
    sets
      .command('put')
      .description('Create or replace a cluster set from a file (selector and bindings)')
      .argument('<name>')
      .requiredOption(
        '-f, --file <file>',
        'YAML or JSON: { selector, bindings: [{ tenant, namespaces, … }] }',
      ),
  ).action(async (name: string, options: CommonOptions & { file: string }) => {
    const { client, format } = setup(options);
    const set = await client.request<ClusterSetView>(
      'PUT',
      `/cluster-sets/${encodeURIComponent(name)}`,
      clusterSetFromFile(options.file, name),
    );
    print(format, set, () => `Cluster set ${set.name} saved.\n`);
  });
  const setRows = (items: ClusterSetView[]) => ({
    headers: ['SET', 'SELECTOR', 'TENANT', 'NAMESPACES', 'CLUSTER-SCOPED', 'SOURCES'],
    rows: items.flatMap((s) =>
      (s.bindings.length > 0 ? s.bindings : [undefined]).map((b) => [
        s.name,
        JSON.stringify(s.selector),
        b?.tenant ?? '-',
        b?.namespaces.join(',') ?? '',
        b ? describeKinds(b.clusterScoped) : '',
        b?.sources.join(',') ?? '',
      ]),
    ),
  });
  withCommonOptions(sets.command('list').description('List cluster sets and their bindings')).action(
    async (options: CommonOptions) => {
      const { client, format } = setup(options);
      const { items } = await client.request<{ items: ClusterSetView[] }>('GET', '/cluster-sets');
      print(format, items, () => setRows(items));
    },
  );
  withCommonOptions(sets.command('get').description('One cluster set').argument('<name>')).action(
    async (name: string, options: CommonOptions) => {
      const { client, format } = setup(options);
      const set = await client.request<ClusterSetView>('GET', `/cluster-sets/${encodeURIComponent(name)}`);
      print(format, set, () => setRows([set]));
    },
  );
  withCommonOptions(sets.command('delete').description('Delete a cluster set').argument('<name>')).action(
    async (name: string, options: CommonOptions) => {
      const { client } = setup(options);
      await client.request('DELETE', `/cluster-sets/${encodeURIComponent(name)}`);
      process.stdout.write(`Cluster set ${name} deleted.\n`);
    },
  );
}
