import { describe, expect, it } from 'vitest';
import { jsonStructureProblem, parseStrictJson } from '../../../../adapters/lambda/strict-json.ts';
import { ValidationError } from '../../../../domain/errors.ts';
import { LIMITS } from '../../../../domain/limits.ts';
import { rejection } from '../../../integration/helpers/rejection.ts';

function refusal(text: string): ValidationError {
  try {
    parseStrictJson(text);
  } catch (error) {
    if (error instanceof ValidationError) return error;
    throw error;
  }
  throw new Error(`accepted: ${text.slice(0, 80)}`);
}

function nested(depth: number, open: string, close: string, inner = '1'): string {
  return `${open.repeat(depth)}${inner}${close.repeat(depth)}`;
}

describe('parseStrictJson', () => {
  it('reads what JSON.parse reads when keys are unique and nesting is bounded', () => {
    const text = '{"a":[1,{"b":"x\\"y","c":null}],"d":{"a":2},"e":"}{]["}';
    expect(parseStrictJson(text)).toEqual(JSON.parse(text));
  });

  it.each([
    ['at the top', '{"name":"a","name":"b"}', 'name'],
    ['inside an object', '{"values":{"replicas":1,"replicas":2}}', 'values.replicas'],
    ['inside an array item', '{"files":[{"p":1},{"p":1,"p":2}]}', 'files[1].p'],
    ['spelled with an escape', '{"values":{"ab":1,"\\u0061b":2}}', 'values.ab'],
  ])('refuses a key that appears twice %s, naming it', (_where, text, path) => {
    const error = refusal(text);
    expect(error.issues).toEqual([{ path, message: expect.stringContaining('appears twice') }]);
  });

  it('allows the same key in different objects', () => {
    expect(parseStrictJson('{"a":{"x":1},"b":{"x":1},"c":[{"x":1},{"x":2}]}')).toBeDefined();
  });

  it('refuses __proto__ as a key', () => {
    expect(refusal('{"values":{"__proto__":{"polluted":true}}}').issues).toEqual([
      { path: 'values.__proto__', message: 'is not allowed as a key' },
    ]);
  });

  it.each([
    ['objects', (d: number) => nested(d, '{"a":', '}')],
    ['arrays', (d: number) => nested(d, '[', ']')],
  ])('accepts %s nested to the limit and refuses one level more, naming where', (_kind, make) => {
    expect(() => parseStrictJson(make(LIMITS.jsonDepth))).not.toThrow();
    const error = refusal(make(LIMITS.jsonDepth + 1));
    expect(error.issues[0]?.message).toBe(`nests deeper than ${LIMITS.jsonDepth} levels`);
  });

  it('refuses a body nested a million deep without parsing it', () => {
    const text = nested(1_000_000, '[', ']');
    expect(jsonStructureProblem(text)?.message).toMatch(/nests deeper/);
    const error = refusal(text);
    expect(error.issues[0]?.path.length).toBeLessThan(100);
  });

  it('names the body when the text is not JSON', async () => {
    const error = await rejection(Promise.resolve().then(() => parseStrictJson('{"a":')));
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).issues[0]?.path).toBe('body');
  });
});
