/**
 * Both render budgets under the one contract (render-budget.contract.ts): the in-process one as
 * it is, and the DynamoDB one against a simulated table. There is no DynamoDB on this machine,
 * so aws-sdk-client-mock stands in for it: a fake UpdateItem that keeps items in a Map and
 * applies the conditional update this module sends (ADD the count, set the expiry if absent,
 * refuse with ConditionalCheckFailedException once the count reached the limit), after checking
 * that the request is exactly that update. That is a simulation of DynamoDB's behaviour, not
 * DynamoDB: the real table's semantics are assumed from its documentation. DynamoDB's faults
 * (throttling, a missing table, no permission) are injected the same way.
 */
import {
  ConditionalCheckFailedException,
  DynamoDBClient,
  InternalServerError,
  ProvisionedThroughputExceededException,
  ResourceNotFoundException,
  UpdateItemCommand,
  type UpdateItemCommandInput,
} from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { describe, expect, it } from 'vitest';
import { StorageError, UnavailableError } from '../../lib/errors.js';
import { InProcessRenderBudget, budgetCaller } from '../../lib/service/render-budget.js';
import { DynamoDbRenderBudget } from '../../lib/store/render-budget.js';
import { renderBudgetContract } from './render-budget.contract.js';

const TABLE = 'recto-render-rate';

/** A DynamoDB client that never reaches AWS (every command is answered by the mock). */
function offlineClient(): DynamoDBClient {
  return new DynamoDBClient({ region: 'eu-west-1', credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' }, maxAttempts: 1 });
}

interface SimulatedTable {
  readonly items: Map<string, { renders: number; expiresAt: number }>;
  readonly requests: UpdateItemCommandInput[];
}

/** A client whose UpdateItem behaves as DynamoDB's conditional update does, on an in-memory table. */
function simulatedDynamoDb(): { client: DynamoDBClient; table: SimulatedTable } {
  const client = offlineClient();
  const table: SimulatedTable = { items: new Map(), requests: [] };
  mockClient(client)
    .on(UpdateItemCommand)
    .callsFake((input: UpdateItemCommandInput) => {
      table.requests.push(input);
      // Only the update this module sends is simulated; anything else is a test failure.
      expect(input).toMatchObject({
        TableName: TABLE,
        UpdateExpression: 'ADD #count :one SET #expires = if_not_exists(#expires, :expires)',
        ConditionExpression: 'attribute_not_exists(#count) OR #count < :limit',
        ExpressionAttributeNames: { '#count': 'renders', '#expires': 'expiresAt' },
      });
      const key = input.Key?.['pk']?.S ?? '';
      const values = input.ExpressionAttributeValues ?? {};
      const item = table.items.get(key);
      if (item !== undefined && !(item.renders < Number(values[':limit']?.N))) {
        throw new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: { httpStatusCode: 400 } });
      }
      table.items.set(key, { renders: (item?.renders ?? 0) + Number(values[':one']?.N), expiresAt: item?.expiresAt ?? Number(values[':expires']?.N) });
      return {};
    });
  return { client, table };
}

const quietLogger = () => {
  const entries: { level: string; message: string; attributes: Readonly<Record<string, unknown>> }[] = [];
  return {
    entries,
    warn: (message: string, attributes: Readonly<Record<string, unknown>>) => entries.push({ level: 'warn', message, attributes }),
    error: (message: string, attributes: Readonly<Record<string, unknown>>) => entries.push({ level: 'error', message, attributes }),
  };
};

renderBudgetContract('InProcessRenderBudget', (perMinute, clock) => new InProcessRenderBudget(perMinute, () => clock.now));

renderBudgetContract('DynamoDbRenderBudget on a simulated table', (perMinute, clock) => {
  const { client } = simulatedDynamoDb();
  return new DynamoDbRenderBudget(client, { table: TABLE, perMinute, now: () => clock.now, logger: quietLogger() });
});

describe('budgetCaller', () => {
  it.each([
    ['alice', 'sub:alice'],
    [undefined, '(no subject)'],
    ['', '(no subject)'],
    ['(no subject)', 'sub:(no subject)'],
  ])('keys the subject %j as %j, so no subject can borrow the shared budget', (subject, key) => {
    expect(budgetCaller(subject)).toBe(key);
  });
});

describe('DynamoDbRenderBudget', () => {
  const now = Date.UTC(2030, 0, 1, 12, 34, 56, 789);
  const minute = Math.floor(now / 60_000);

  it('sends one conditional UpdateItem per render: a hashed caller and the minute as key, the limit, and an expiry after the minute', async () => {
    // Prepare
    const { client, table } = simulatedDynamoDb();
    const budget = new DynamoDbRenderBudget(client, { table: TABLE, perMinute: 600, now: () => now });

    // Act
    const answer = await budget.take('sub:alice@example.org');

    // Assess
    expect(answer).toBe(true);
    expect(table.requests).toHaveLength(1);
    const key = table.requests[0]?.Key?.['pk']?.S ?? '';
    expect(key).toMatch(new RegExp(`^[A-Za-z0-9_-]{32}#${minute}$`));
    expect(key).not.toContain('alice');
    expect(table.requests[0]?.ExpressionAttributeValues).toEqual({
      ':one': { N: '1' },
      ':limit': { N: '600' },
      ':expires': { N: String((minute + 1) * 60 + 120) },
    });
    expect([...table.items.values()]).toEqual([{ renders: 1, expiresAt: (minute + 1) * 60 + 120 }]);
  });

  it.each([
    ['throttled past its retries', new ProvisionedThroughputExceededException({ message: 'Rate exceeded', $metadata: { httpStatusCode: 400, attempts: 3 } }), 21, 'ProvisionedThroughputExceededException (HTTP 400)'],
    ['failing with a 500', new InternalServerError({ message: 'Internal error', $metadata: { httpStatusCode: 500, attempts: 3 } }), 19, 'InternalServerError (HTTP 500)'],
  ])('refuses the render with 503 STORAGE_UNAVAILABLE when DynamoDB is %s: a limit that lapsed with its table would bound nothing', async (_what, fault, seconds, what) => {
    // Prepare
    const client = offlineClient();
    mockClient(client).on(UpdateItemCommand).rejects(fault);
    const logger = quietLogger();
    const budget = new DynamoDbRenderBudget(client, { table: TABLE, perMinute: 600, now: () => now, logger });

    // Act
    const failure = await budget.take('sub:alice').then(
      () => undefined,
      (error: unknown) => error,
    );

    // Assess
    expect(failure).toBeInstanceOf(UnavailableError);
    expect(failure).toMatchObject({ code: 'STORAGE_UNAVAILABLE', status: 503, headers: { 'retry-after': String(seconds) } });
    expect((failure as Error).message).toBe(`Expected an answer from the render budget table for counting a render but received "${what}"; retry after ${seconds} s`);
    expect(logger.entries.map((entry) => [entry.level, entry.message, entry.attributes['table']])).toEqual([['warn', 'The render budget table is unavailable; answering 503', TABLE]]);
  });

  it('answers a missing table with 500 STORAGE_MISCONFIGURED and logs what to check', async () => {
    // Prepare
    const client = offlineClient();
    mockClient(client).on(UpdateItemCommand).rejects(new ResourceNotFoundException({ message: 'Requested resource not found', $metadata: { httpStatusCode: 400 } }));
    const logger = quietLogger();
    const budget = new DynamoDbRenderBudget(client, { table: TABLE, perMinute: 600, now: () => now, logger });

    // Act
    const failure = await budget.take('sub:alice').then(
      () => undefined,
      (error: unknown) => error,
    );

    // Assess
    expect(failure).toBeInstanceOf(StorageError);
    expect(failure).toMatchObject({ code: 'STORAGE_MISCONFIGURED', status: 500 });
    expect((failure as Error).message).toBe(
      'Expected the render budget table to accept the service for counting a render but received "ResourceNotFoundException (HTTP 400)"; this is a fault of this deployment, not of the request, and is logged for its operators',
    );
    expect(logger.entries[0]).toMatchObject({
      level: 'error',
      message: 'The render budget table refused the service itself: check RENDER_RATE_TABLE (the table exists, in this region) and the function role (dynamodb:UpdateItem on it)',
      attributes: { table: TABLE, operation: 'UpdateItem', error: 'ResourceNotFoundException' },
    });
  });

  it('rethrows an error it does not know, untouched (a logged 500 in lib/http)', async () => {
    // Prepare
    const client = offlineClient();
    const strange = new TypeError('something else');
    mockClient(client).on(UpdateItemCommand).rejects(strange);
    const budget = new DynamoDbRenderBudget(client, { table: TABLE, perMinute: 600, now: () => now, logger: quietLogger() });

    // Act
    const failure = await budget.take('sub:alice').then(
      () => undefined,
      (error: unknown) => error,
    );

    // Assess
    expect(failure).toBe(strange);
  });

  it.each([0, -1, 1.5])('refuses a limit of %s at construction', (perMinute) => {
    expect(() => new DynamoDbRenderBudget(offlineClient(), { table: TABLE, perMinute })).toThrow(TypeError);
    expect(() => new InProcessRenderBudget(perMinute)).toThrow(`Expected a whole number of at least 1 for perMinute but received "${perMinute}"`);
  });
});
