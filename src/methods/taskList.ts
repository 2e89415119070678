/**
 * task.list (extension): the caller's own tasks (an admin's token: everyone's, or one
 * `requestAgent`'s), newest first, filtered by status, priority, agent, creation time and
 * metadata values; `limit` ≤ 200 (default 50) and an opaque `cursor` (`nextCursor` of the
 * previous page) that stays stable while tasks are being created.
 */
import { InvalidParamsError } from '../rpc/errors';
import { toUtcIso } from '../rpc/schemas';
import { toWireTask } from '../tasks/toWire';
import { defineMethod } from './method';

interface Params {
  status?: string | string[];
  priority?: string | string[];
  agent?: string;
  requestAgent?: string;
  createdAfter?: string;
  createdBefore?: string;
  metadata?: Record<string, string | number | boolean>;
  limit?: number;
  cursor?: string;
}

const list = (value: string | string[] | undefined) =>
  value === undefined ? undefined : Array.isArray(value) ? value : [value];

function encodeCursor(createdAt: string, taskId: string): string {
  return Buffer.from(JSON.stringify([createdAt, taskId])).toString('base64url');
}

function decodeCursor(cursor: string): { createdAt: string; taskId: string } {
  try {
    const [createdAt, taskId] = JSON.parse(
      Buffer.from(cursor, 'base64url').toString(),
    ) as unknown[];
    if (typeof createdAt === 'string' && typeof taskId === 'string') return { createdAt, taskId };
  } catch {
    // fall through
  }
  throw new InvalidParamsError([
    { field: 'cursor', message: 'is not a cursor this server gave out' },
  ]);
}

export const taskList = defineMethod<Params>({
  name: 'task.list',
  schema: 'arc:methods/task.list',
  async handle(params, call, { tasks }) {
    const limit = params.limit ?? 50;
    const statuses = list(params.status);
    const priorities = list(params.priority);
    const found = await tasks.list(call, {
      ...(params.requestAgent ? { requestAgent: params.requestAgent } : {}),
      ...(statuses ? { statuses } : {}),
      ...(priorities ? { priorities } : {}),
      ...(params.agent ? { agent: params.agent } : {}),
      ...(params.createdAfter ? { createdAfter: toUtcIso(params.createdAfter) } : {}),
      ...(params.createdBefore ? { createdBefore: toUtcIso(params.createdBefore) } : {}),
      ...(params.metadata ? { metadata: params.metadata } : {}),
      ...(params.cursor ? { after: decodeCursor(params.cursor) } : {}),
      limit: limit + 1,
    });
    const page = found.slice(0, limit);
    const last = page.at(-1);
    return {
      type: 'tasks',
      tasks: page.map((task) => toWireTask(task)),
      ...(found.length > limit && last
        ? { nextCursor: encodeCursor(last.createdAt, last.taskId) }
        : {}),
    };
  },
});
