/**
 * `flotilla console [--api URL] [--token T] [--port N]`: the web console on 127.0.0.1 for any
 * Flotilla API — the local control plane, or one deployed on AWS. It forwards the page's `/api/*`
 * calls to the API with the CLI's credential (the token, or SigV4 with the environment's AWS
 * credentials for an API Gateway endpoint), so the browser never holds either: it gets a session
 * token of this run only, in the printed URL's fragment.
 */
import type { Command } from 'commander';
import { resolveEndpoint } from '../api-client.ts';
import { CliError } from '../errors.ts';
import { executeApiRegion, signedHeaders } from '../sigv4.ts';
import { untilInterrupted } from './shared.ts';

interface ConsoleOptions {
  readonly api?: string;
  readonly token?: string;
  readonly port: string;
}

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) {
    throw new CliError(`--port ${value}: expected a whole number from 0 to 65535`);
  }
  return n;
}

/** Register `console`. */
export function registerConsole(program: Command): void {
  program
    .command('console')
    .description(
      'Serve the web console on 127.0.0.1 for a Flotilla API (local or on AWS); serve until Ctrl-C',
    )
    .option('--api <url>', 'Flotilla API URL (default: $FLOTILLA_API, else the local control plane)')
    .option(
      '--token <token>',
      'API bearer token (default: $FLOTILLA_TOKEN, else the local one; none: SigV4 for API Gateway)',
    )
    .option('--port <port>', 'console port on 127.0.0.1 (0: any free port)', '0')
    .action(async (options: ConsoleOptions) => {
      const listen = port(options.port);
      const endpoint = resolveEndpoint(options);
      const region = endpoint.token ? undefined : executeApiRegion(endpoint.url);
      if (region) {
        // Fail now, in one line, rather than on the page's first request.
        await signedHeaders('GET', `${endpoint.url.replace(/\/+$/, '')}/clusters`, {}, undefined, { region });
      }
      const { startConsoleServer } = await import('../../local/console-server.ts');
      const server = await startConsoleServer({
        api: endpoint.url,
        auth: endpoint.token
          ? { type: 'token', token: endpoint.token }
          : region
            ? { type: 'sigv4', region }
            : { type: 'none' },
        port: listen,
      }).catch((error: unknown) => {
        const code = (error as { code?: string }).code;
        throw new CliError(
          code === 'EADDRINUSE'
            ? `--port ${listen}: the port is in use`
            : `cannot start the console: ${error instanceof Error ? error.message : String(error)}`,
        );
      });
      // One request through the proxy, so an unreachable API or a refused credential is one line
      // here rather than an error on the page.
      const probe = await fetch(`${server.url}/api/openapi.json`, {
        headers: { authorization: `Bearer ${server.sessionToken}` },
      });
      if (probe.status === 502 || probe.status === 504) {
        const body = (await probe.json().catch(() => ({}))) as { message?: string };
        await server.stop();
        throw new CliError(body.message ?? `the API at ${endpoint.url} answered ${probe.status}`);
      }
      await probe.arrayBuffer();
      const how = endpoint.token
        ? 'with its bearer token'
        : region
          ? `signed with SigV4 (${region}) with this environment's AWS credentials`
          : 'without credentials';
      process.stdout.write(
        [
          `Flotilla console: ${server.consoleUrl}`,
          `API:              ${endpoint.url} (${how}; the browser holds only this run's session token)`,
          '',
          'Serving until Ctrl-C.',
          '',
        ].join('\n'),
      );
      await untilInterrupted();
      await server.stop();
    });
}
