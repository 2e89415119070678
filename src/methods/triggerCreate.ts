/** trigger.create (extension): a secret URL that creates a task for the target agent. */
import type { NewTrigger } from '../triggers/triggerService';
import { defineMethod } from './method';

export const triggerCreate = defineMethod<NewTrigger>({
  name: 'trigger.create',
  schema: 'arc:methods/trigger.create',
  async handle(params, call, { triggers }) {
    return { type: 'trigger', trigger: await triggers.create(call, params) };
  },
});
