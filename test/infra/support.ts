/**
 * In-process synthesis of the Flotilla stack for Template assertions: what `npx cdk synth`
 * produces, minus the esbuild bundling (skipped through the `aws:cdk:bundling-stacks` context, so
 * a synthesis takes seconds; test/infra/cdk-synth.test.ts runs the real CLI with bundling once).
 */
import { App, Stack, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { Flotilla, type FlotillaProps } from '../../infra/flotilla.ts';
import { FlotillaStack } from '../../infra/stack.ts';

export interface Synthesized {
  readonly app: App;
  readonly stack: Stack;
  readonly template: Template;
  /** The JSON template. */
  readonly json: TemplateJson;
  /** The cloud assembly directory. */
  readonly outdir: string;
}

export interface TemplateJson {
  Resources: Record<string, { Type: string; Properties?: Record<string, unknown>; [key: string]: unknown }>;
  [key: string]: unknown;
}

/**
 * Synthesize a Flotilla stack (optionally with the cdk-nag AwsSolutions checks, and more
 * constructs added by `extend`). Props that need constructs of their own (a KMS key, a VPC) are
 * made by a function of the stack.
 */
export function synthesize(
  props: FlotillaProps | ((stack: Stack) => FlotillaProps) = {},
  options: { nag?: boolean; extend?: (app: App, stack: Stack) => void } = {},
): Synthesized {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  let stack: Stack;
  if (typeof props === 'function') {
    stack = new Stack(app, 'Flotilla');
    new Flotilla(stack, 'Flotilla', props(stack));
  } else {
    stack = new FlotillaStack(app, 'Flotilla', { flotilla: props });
  }
  options.extend?.(app, stack);
  if (options.nag) Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  const assembly = app.synth();
  const template = Template.fromStack(stack);
  return { app, stack, template, json: template.toJSON() as TemplateJson, outdir: assembly.directory };
}

/** Resources of one type, by logical id. */
export function resourcesOf(json: TemplateJson, type: string): Array<[string, Record<string, unknown>]> {
  return Object.entries(json.Resources)
    .filter(([, r]) => r.Type === type)
    .map(([id, r]) => [id, r.Properties ?? {}]);
}

/** Every acknowledgement recorded in the construct tree: where, which finding, and why. */
export function acknowledgements(root: IConstruct): Array<{ path: string; id: string; reason: unknown }> {
  const out: Array<{ path: string; id: string; reason: unknown }> = [];
  for (const node of root.node.findAll()) {
    for (const entry of node.node.metadata) {
      if (entry.type !== Validations.ACKNOWLEDGED_RULES_METADATA_KEY) continue;
      for (const [id, reason] of Object.entries(entry.data as Record<string, unknown>)) {
        out.push({ path: node.node.path, id, reason });
      }
    }
  }
  return out;
}

type Json = unknown;

/** Render a CloudFormation value with its references as `<Logical>` / `<Logical.Attr>`. */
export function render(value: Json): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'object' && value !== null) {
    const o = value as Record<string, unknown>;
    if (typeof o.Ref === 'string') return `<${o.Ref}>`;
    const getAtt = o['Fn::GetAtt'];
    if (Array.isArray(getAtt)) return `<${getAtt.join('.')}>`;
    const join = o['Fn::Join'];
    if (Array.isArray(join)) return (join[1] as Json[]).map(render).join(String(join[0]));
  }
  return JSON.stringify(value);
}

/** One IAM statement of a policy in the template, with where it is. */
export interface StatementOf {
  readonly policy: string;
  /** Logical ids of the roles the statement applies to. */
  readonly roles: string[];
  readonly effect: string;
  readonly actions: string[];
  readonly resources: string[];
  readonly conditions?: unknown;
}

const list = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/** Every statement of every IAM policy (policies and roles' inline policies). */
export function statementsOf(json: TemplateJson): StatementOf[] {
  const out: StatementOf[] = [];
  const collect = (policy: string, document: unknown, roles: string[]) => {
    const statements = list((document as { Statement?: unknown[] } | undefined)?.Statement);
    for (const raw of statements) {
      const s = raw as { Effect?: string; Action?: unknown; Resource?: unknown; Condition?: unknown };
      out.push({
        policy,
        roles,
        effect: s.Effect ?? '',
        actions: list(s.Action as string | string[]),
        resources: list(s.Resource as Json | Json[]).map(render),
        ...(s.Condition ? { conditions: s.Condition } : {}),
      });
    }
  };
  for (const type of ['AWS::IAM::Policy', 'AWS::IAM::ManagedPolicy']) {
    for (const [id, props] of resourcesOf(json, type))
      collect(id, props.PolicyDocument, rolesOfPolicy(json, id));
  }
  for (const [id, props] of resourcesOf(json, 'AWS::IAM::Role')) {
    const inline = list(props.Policies as Array<{ PolicyName: string; PolicyDocument: unknown }> | undefined);
    for (const p of inline) collect(`${id}/${p.PolicyName}`, p.PolicyDocument, [id]);
  }
  return out;
}

/** The logical ids of the roles a policy is attached to. */
export function rolesOfPolicy(json: TemplateJson, policyId: string): string[] {
  const props = json.Resources[policyId]?.Properties ?? {};
  return list(props.Roles as Json[] | undefined).map((r) => render(r).replace(/^<|>$/g, ''));
}
