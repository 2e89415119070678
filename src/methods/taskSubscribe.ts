/**
 * task.subscribe: store a webhook subscription for some of a task's events. The result carries
 * the subscription's signing secret; it is shown only here. Extensions: `secret` (bring your
 * own, whsec_…) and `replay: true` (deliver the task's past events first, in order).
 */
import type { EventType } from '../types';
import { InvalidParamsError } from '../rpc/errors';
import { defineMethod } from './method';

function checkCallbackUrl(value: string): void {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InvalidParamsError([{ field: 'callbackUrl', message: 'must be an absolute URL' }]);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new InvalidParamsError([
      { field: 'callbackUrl', message: 'must be an http or https URL' },
    ]);
  }
  if (url.username || url.password) {
    throw new InvalidParamsError([
      { field: 'callbackUrl', message: 'must not carry credentials in the URL' },
    ]);
  }
}

export const taskSubscribe = defineMethod<{
  taskId: string;
  callbackUrl: string;
  events?: EventType[];
  secret?: string;
  replay?: boolean;
}>({
  name: 'task.subscribe',
  schema: 'arc:methods/task.subscribe',
  async handle(params, call, { subscriptions }) {
    checkCallbackUrl(params.callbackUrl);
    return { type: 'subscription', subscription: await subscriptions.subscribe(call, params) };
  },
});
