/**
 * Events by tenant: every event names its tenant, and a tenant's consumers get theirs through a
 * rule that forwards that tenant's events, and only those, to a bus of the tenant's own.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as events from 'aws-cdk-lib/aws-events';
import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { EVENT_DETAILS, EVENT_TYPES } from '../../domain/events.ts';
import { tenantEventPattern } from '../../infra/flotilla.ts';
import type { FlotillaStack } from '../../infra/stack.ts';
import { resourcesOf, synthesize } from './support.ts';

const ALPHA_BUS = 'arn:aws:events:eu-west-1:210987654321:event-bus/alpha-flotilla';

describe('events by tenant', () => {
  it('names the tenant in the detail of every event type, required', () => {
    for (const type of EVENT_TYPES) {
      const shape = (EVENT_DETAILS[type] as z.ZodObject).shape as Record<string, z.ZodType>;
      expect(Object.keys(shape), type).toContain('tenant');
      expect(shape.tenant?.safeParse('').success, type).toBe(false);
      expect(shape.tenant?.safeParse(undefined).success, type).toBe(false);
    }
  });

  it("matches one tenant's events and no other's", () => {
    expect(tenantEventPattern('alpha')).toEqual({ source: ['flotilla'], detail: { tenant: ['alpha'] } });
  });

  it("forwards a tenant's events to its own bus, cdk-nag clean, and gives no one else the Flotilla bus", () => {
    // Prepare + Act
    const synthesized = synthesize(
      {},
      {
        nag: true,
        extend: (_app, stack) => {
          const flotilla = (stack as FlotillaStack).flotilla;
          flotilla.forwardTenantEvents(
            'alpha',
            events.EventBus.fromEventBusArn(stack, 'AlphaBus', ALPHA_BUS),
          );
        },
      },
    );
    // Assess
    const rules = resourcesOf(synthesized.json, 'AWS::Events::Rule').filter(([id]) =>
      id.includes('TenantEvents'),
    );
    expect(rules).toHaveLength(1);
    const [, rule] = rules[0] ?? ['', {}];
    expect(rule.EventPattern).toEqual({ source: ['flotilla'], detail: { tenant: ['alpha'] } });
    expect((rule.Targets as Array<{ Arn: unknown }>).map((t) => t.Arn)).toEqual([ALPHA_BUS]);
    // The rule's role may put events on that bus only.
    const policies = resourcesOf(synthesized.json, 'AWS::IAM::Policy').filter(([id]) =>
      id.startsWith('FlotillaTenantEventsalphaEventsRole'),
    );
    expect(policies.map(([, p]) => p.PolicyDocument)).toEqual([
      {
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Action: 'events:PutEvents', Resource: ALPHA_BUS }],
      },
    ]);
    // No resource policy on Flotilla's bus: no other account may add rules or events to it.
    expect(resourcesOf(synthesized.json, 'AWS::Events::EventBusPolicy')).toEqual([]);
    const bus = resourcesOf(synthesized.json, 'AWS::Events::EventBus');
    expect(bus.map(([, p]) => p.Policy)).toEqual([undefined]);
    const report = JSON.parse(readFileSync(join(synthesized.outdir, 'validation-report.json'), 'utf8')) as {
      pluginReports: Array<{ violations?: unknown[] }>;
    };
    expect(report.pluginReports.flatMap((r) => r.violations ?? [])).toEqual([]);
  });

  it('refuses a name that is not a tenant', () => {
    const { stack } = synthesize();
    const flotilla = (stack as FlotillaStack).flotilla;
    const bus = events.EventBus.fromEventBusArn(stack, 'Bad', ALPHA_BUS);
    expect(() => flotilla.forwardTenantEvents('Alpha_1', bus)).toThrow(/forwardTenantEvents: tenant/);
  });
});
