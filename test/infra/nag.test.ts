/**
 * cdk-nag's AwsSolutions checks (v3: a policy validation plugin run at synthesis) over the stack
 * in its variants: zero findings left unacknowledged, and every acknowledgement says why.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { describe, expect, it } from 'vitest';
import { acknowledgements, synthesize } from './support.ts';

interface Report {
  pluginReports: Array<{
    violations?: unknown[];
    suppressedViolations?: Array<{
      ruleName: string;
      acknowledgedId: string;
      acknowledgedAt: string;
      reason: string;
    }>;
  }>;
}

function reportOf(outdir: string): Report {
  return JSON.parse(readFileSync(join(outdir, 'validation-report.json'), 'utf8')) as Report;
}

/** Violations left in the validation report of a synthesized assembly. */
function violationsIn(outdir: string): unknown[] {
  return reportOf(outdir).pluginReports.flatMap((r) => r.violations ?? []);
}

describe('cdk-nag AwsSolutionsChecks', () => {
  it.each([
    ['the default stack (IAM auth)', {}],
    ['Cognito auth with a user pool of its own', { apiAuth: 'cognito' as const }],
  ])('finds nothing unacknowledged in %s, and every acknowledgement has a reason', (_name, props) => {
    const synthesized = synthesize(props, { nag: true });

    expect(violationsIn(synthesized.outdir)).toEqual([]);
    const acks = acknowledgements(synthesized.app);
    expect(acks.length).toBeGreaterThan(5);
    for (const ack of acks) {
      expect(ack.id, ack.path).toMatch(/^AwsSolutions::AwsSolutions-[A-Z]+\d+/);
      expect(typeof ack.reason, `${ack.path} ${ack.id}`).toBe('string');
      expect(String(ack.reason).length, `${ack.path} ${ack.id}: say why`).toBeGreaterThan(30);
    }
    // Every acknowledgement answers a finding cdk-nag made (none is left over from old code).
    const suppressed = reportOf(synthesized.outdir).pluginReports.flatMap(
      (r) => r.suppressedViolations ?? [],
    );
    const used = new Set(suppressed.map((v) => `${v.acknowledgedAt} ${v.acknowledgedId}`));
    expect(acks.filter((a) => !used.has(`${a.path} ${a.id}`)).map((a) => `${a.path} ${a.id}`)).toEqual([]);
    for (const v of suppressed) expect(v.reason.length, v.ruleName).toBeGreaterThan(30);
  });

  it('finds nothing unacknowledged with a customer-managed key and a VPC', () => {
    const synthesized = synthesize(
      (stack) => {
        const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 1 });
        // The test's own VPC is a fixture, not Flotilla's to judge.
        Validations.of(vpc).acknowledge({
          id: 'AwsSolutions::AwsSolutions-VPC7',
          reason: "A throwaway VPC of this test; flow logs are the VPC owner's choice.",
        });
        return { encryptionKey: new kms.Key(stack, 'Key', { enableKeyRotation: true }), vpc };
      },
      { nag: true },
    );
    expect(violationsIn(synthesized.outdir)).toEqual([]);
  });

  it('does report a finding nobody acknowledged (the check can fail)', () => {
    expect(() =>
      synthesize(
        {},
        {
          nag: true,
          extend: (_app, stack) => {
            new s3.Bucket(stack, 'UnloggedBucket', { enforceSSL: true });
          },
        },
      ),
    ).toThrow(/AwsSolutions-S1/);
  });
});
