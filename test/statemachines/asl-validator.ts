/**
 * asl-validator (CommonJS, without types) typed for the tests that check a state machine
 * definition: the workflow files here, and the definitions the CDK stack renders (test/infra).
 */
import { createRequire } from 'node:module';

type Validate = (
  definition: unknown,
  options?: { checkArn?: boolean; checkPaths?: boolean },
) => { isValid: boolean; errorsText: (separator?: string) => string };
const validate = createRequire(import.meta.url)('asl-validator') as Validate;

/** Validate a filled-in definition as Step Functions sees it: its schema, ARNs and paths. */
export function validateAsl(definition: unknown): ReturnType<Validate> {
  return validate(definition, { checkArn: true, checkPaths: true });
}
