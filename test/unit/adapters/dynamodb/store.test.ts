/**
 * DynamoStore against a mocked DynamoDB: the failure paths a local server never produces
 * (throttling, 5xx, unprocessed batch items) and the exact requests the store makes.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  BatchWriteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DynamoStore } from '../../../../adapters/dynamodb/store.ts';
import { ManualClock } from '../../../../adapters/local/clock.ts';
import { NotFoundError, TransientError, VersionConflictError } from '../../../../domain/errors.ts';
import { anExecution, aResult, aTarget } from '../../../integration/store/fixtures.ts';

const ddb = mockClient(DynamoDBDocumentClient);

function awsError(name: string, status: number): Error {
  return Object.assign(new Error(name), { name, $metadata: { httpStatusCode: status } });
}

let store: DynamoStore;
const clock = new ManualClock('2025-01-01T00:00:00.000Z');

beforeEach(() => {
  ddb.reset();
  store = new DynamoStore({
    client: new DynamoDBClient({
      region: 'eu-west-1',
      credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
    }),
    tableName: 'tbl',
    clock,
    batchRetry: { attempts: 4, baseDelayMs: 1, maxDelayMs: 2 },
  });
});
afterEach(() => {
  ddb.reset();
});

describe('DynamoStore batch writes', () => {
  it('writes results in chunks of 25, each item with its TTL', async () => {
    ddb.on(BatchWriteCommand).resolves({ UnprocessedItems: {} });
    const results = Array.from({ length: 60 }, (_, i) => aResult('default', 'e1', `c-${i}`));

    await store.putResults(results);

    const calls = ddb.commandCalls(BatchWriteCommand);
    expect(calls.map((c) => c.args[0].input.RequestItems?.tbl?.length)).toEqual([25, 25, 10]);
    const first = calls[0]?.args[0].input.RequestItems?.tbl?.[0]?.PutRequest?.Item;
    expect(first?.expiresAt).toBe(Date.parse('2025-01-01T00:00:00.000Z') / 1000 + 90 * 86_400);
    expect(first?.pk).toBe('T#default#EXEC#e1');
  });

  it('retries unprocessed items until they are written', async () => {
    const results = Array.from({ length: 3 }, (_, i) => aResult('default', 'e1', `c-${i}`));
    ddb
      .on(BatchWriteCommand)
      .resolvesOnce({ UnprocessedItems: { tbl: [{ PutRequest: { Item: { pk: 'x', sk: 'RES#c-1' } } }] } })
      .resolvesOnce({ UnprocessedItems: { tbl: [{ PutRequest: { Item: { pk: 'x', sk: 'RES#c-1' } } }] } })
      .resolves({ UnprocessedItems: {} });

    await store.putResults(results);

    const calls = ddb.commandCalls(BatchWriteCommand);
    expect(calls).toHaveLength(3);
    expect(calls[1]?.args[0].input.RequestItems?.tbl).toEqual([
      { PutRequest: { Item: { pk: 'x', sk: 'RES#c-1' } } },
    ]);
  });

  it('gives up with TransientError after the bounded number of attempts', async () => {
    ddb
      .on(BatchWriteCommand)
      .resolves({ UnprocessedItems: { tbl: [{ PutRequest: { Item: { pk: 'x', sk: 'RES#c-0' } } }] } });

    await expect(store.putResults([aResult('default', 'e1', 'c-0')])).rejects.toBeInstanceOf(TransientError);
    expect(ddb.commandCalls(BatchWriteCommand)).toHaveLength(4);
  });

  it('sends one request per key when a call repeats a key (the last one wins)', async () => {
    ddb.on(BatchWriteCommand).resolves({ UnprocessedItems: {} });
    await store.putResults([
      aResult('default', 'e1', 'c-0', { reason: 'first' }),
      aResult('default', 'e1', 'c-0', { reason: 'second' }),
    ]);
    const items = ddb.commandCalls(BatchWriteCommand)[0]?.args[0].input.RequestItems?.tbl ?? [];
    expect(items).toHaveLength(1);
    expect(items[0]?.PutRequest?.Item?.reason).toBe('second');
  });
});

describe('DynamoStore batch reads', () => {
  it('asks for 100 keys a call, consistently, and retries unprocessed keys', async () => {
    const names = Array.from({ length: 150 }, (_, i) => `c-${i}`);
    const item = (name: string) => ({ pk: 'T#_platform#CLUSTER', sk: name, name });
    ddb
      .on(BatchGetCommand)
      .resolvesOnce({
        Responses: { tbl: names.slice(0, 99).map(item) },
        UnprocessedKeys: { tbl: { Keys: [{ pk: 'T#_platform#CLUSTER', sk: 'c-99' }] } },
      })
      .resolvesOnce({ Responses: { tbl: names.slice(100).map(item) } })
      .resolves({ Responses: { tbl: [item('c-99')] } });

    const got = await store.getClusters(names);

    expect(got.map((c) => c.name)).toEqual(names);
    const calls = ddb.commandCalls(BatchGetCommand);
    expect(calls.map((c) => c.args[0].input.RequestItems?.tbl?.Keys?.length).sort()).toEqual([1, 100, 50]);
    expect(calls.every((c) => c.args[0].input.RequestItems?.tbl?.ConsistentRead === true)).toBe(true);
  });
});

describe('DynamoStore errors', () => {
  it.each([
    ['ProvisionedThroughputExceededException', 400],
    ['ThrottlingException', 400],
    ['InternalServerError', 500],
    ['SomethingNew', 503],
  ])('turns %s into TransientError', async (name, status) => {
    ddb.on(GetCommand).rejects(awsError(name, status));
    const error = await store.getTarget('default', 'shop', 'alpha').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransientError);
    expect((error as Error).message).toContain(name);
  });

  it('turns a refused connection into TransientError', async () => {
    ddb.on(QueryCommand).rejects(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }));
    await expect(store.listTargets('default', 'shop')).rejects.toBeInstanceOf(TransientError);
  });

  it('passes other errors through unchanged', async () => {
    ddb.on(GetCommand).rejects(awsError('ValidationException', 400));
    const error = await store.getTarget('default', 'shop', 'alpha').catch((e: unknown) => e);
    expect((error as Error).name).toBe('ValidationException');
  });

  it('explains a failed version condition by reading the item again', async () => {
    ddb.on(PutCommand).rejects(awsError('ConditionalCheckFailedException', 400));
    ddb
      .on(GetCommand)
      .resolvesOnce({ Item: { pk: 'p', sk: 's', recordVersion: 5 } })
      .resolvesOnce({});
    const target = aTarget('default', 'shop', 'alpha', { recordVersion: 3 });
    await expect(store.putTarget(target)).rejects.toBeInstanceOf(VersionConflictError);
    await expect(store.putTarget(target)).rejects.toBeInstanceOf(NotFoundError);
  });
});

describe('DynamoStore requests', () => {
  it('adds counts with one atomic ADD of top-level numbers and folds them back', async () => {
    ddb.on(UpdateCommand).resolves({
      Attributes: {
        cnt_total: 5,
        cnt_pending: 3,
        cnt_progressing: 0,
        cnt_succeeded: 2,
        cnt_failed: 0,
        cnt_skipped: 0,
      },
    });
    const counts = await store.addExecutionCounts('default', 'e1', { pending: -2, succeeded: 2 });
    expect(counts).toEqual({ total: 5, pending: 3, progressing: 0, succeeded: 2, failed: 0, skipped: 0 });
    const input = ddb.commandCalls(UpdateCommand)[0]?.args[0].input;
    expect(input?.UpdateExpression).toMatch(/^ADD /);
    expect(input?.ConditionExpression).toBe('attribute_exists(pk)');
    expect(input?.ExpressionAttributeValues).toMatchObject({ ':c1': -2, ':c3': 2 });
  });

  it('sets the TTL when an execution ends and never writes its counts', async () => {
    ddb.on(UpdateCommand).resolves({ Attributes: {} });
    await store.updateExecution(
      anExecution('default', 'e1', {
        status: 'Succeeded',
        endedAt: '2025-02-01T00:00:00.000Z',
        recordVersion: 1,
      }),
    );
    const input = ddb.commandCalls(UpdateCommand)[0]?.args[0].input;
    const names = Object.values(input?.ExpressionAttributeNames ?? {});
    expect(names).toContain('expiresAt');
    expect(names).not.toContain('counts');
    expect(Object.values(input?.ExpressionAttributeValues ?? {})).toContain(
      Date.parse('2025-02-01T00:00:00.000Z') / 1000 + 90 * 86_400,
    );
  });

  it('reads strongly consistent from the table and follows every page', async () => {
    ddb
      .on(QueryCommand)
      .resolvesOnce({
        Items: [{ pk: 'p', sk: 'TGT#a', cluster: 'a' }],
        LastEvaluatedKey: { pk: 'p', sk: 'TGT#a' },
      })
      .resolvesOnce({ Items: [{ pk: 'p', sk: 'TGT#b', cluster: 'b' }] });
    const targets = await store.listTargets('default', 'shop');
    expect(targets).toEqual([{ cluster: 'a' }, { cluster: 'b' }]);
    const calls = ddb.commandCalls(QueryCommand);
    expect(calls[0]?.args[0].input.ConsistentRead).toBe(true);
    expect(calls[1]?.args[0].input.ExclusiveStartKey).toEqual({ pk: 'p', sk: 'TGT#a' });
  });
});
