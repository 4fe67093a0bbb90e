/**
 * The CDK app (`npx cdk synth`, `npx cdk deploy`; cdk.json runs this file with Node 24, which
 * runs TypeScript directly). Settings come from context (`-c key=value` or cdk.json):
 *
 * - `stackName` (default `Flotilla`)
 * - `regions`: comma-separated regions to discover (default: the stack's region)
 * - `apiAuth`: `iam` (default) or `cognito`
 * - `removalPolicy`: `retain` (default) or `destroy` (for test stacks)
 * - `nag`: `false` to skip the cdk-nag AwsSolutions checks (on by default)
 *
 * The account and region are the CLI's (CDK_DEFAULT_ACCOUNT/REGION) when set; without them the
 * template is environment-agnostic, so `cdk synth` works offline with no credentials.
 */
import { App, RemovalPolicy, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { ApiAuthMode } from '../flotilla.ts';
import { FlotillaStack } from '../stack.ts';

const app = new App();
const context = (key: string): string | undefined => {
  const value: unknown = app.node.tryGetContext(key);
  return value === undefined || value === null || value === '' ? undefined : String(value);
};

const regions = context('regions')
  ?.split(',')
  .map((r) => r.trim())
  .filter((r) => r !== '');
const apiAuth = context('apiAuth') ?? 'iam';
if (apiAuth !== 'iam' && apiAuth !== 'cognito') {
  throw new Error(`context apiAuth: expected iam or cognito, not "${apiAuth}"`);
}
const removal = context('removalPolicy') ?? 'retain';
if (removal !== 'retain' && removal !== 'destroy') {
  throw new Error(`context removalPolicy: expected retain or destroy, not "${removal}"`);
}
const account = process.env.CDK_DEFAULT_ACCOUNT;
const region = process.env.CDK_DEFAULT_REGION;

new FlotillaStack(app, context('stackName') ?? 'Flotilla', {
  ...(account && region ? { env: { account, region } } : {}),
  description: 'Flotilla: deploy services to many Kubernetes clusters at once',
  flotilla: {
    ...(regions && regions.length > 0 ? { discoveryRegions: regions } : {}),
    apiAuth: apiAuth as ApiAuthMode,
    removalPolicy: removal === 'destroy' ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN,
  },
});

if (context('nag') !== 'false') Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
