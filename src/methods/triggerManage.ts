/** trigger.list and trigger.delete (extensions): the caller's triggers (their URLs are not shown again). */
import { toWireTrigger } from '../triggers/triggerService';
import { defineMethod } from './method';

export const triggerList = defineMethod<Record<string, never>>({
  name: 'trigger.list',
  schema: 'arc:methods/trigger.list',
  async handle(_params, call, { triggers }) {
    return { type: 'triggers', triggers: (await triggers.list(call)).map(toWireTrigger) };
  },
});

export const triggerDelete = defineMethod<{ triggerId: string }>({
  name: 'trigger.delete',
  schema: 'arc:methods/trigger.delete',
  async handle(params, call, { triggers }) {
    await triggers.delete(call, params.triggerId);
    return { type: 'deleted', triggerId: params.triggerId };
  },
});
