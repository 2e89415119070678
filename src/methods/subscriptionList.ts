/** subscription.list (extension): the caller's subscriptions, optionally for one task. */
import { defineMethod } from './method';

export const subscriptionList = defineMethod<{ taskId?: string }>({
  name: 'subscription.list',
  schema: 'arc:methods/subscription.list',
  async handle(params, call, { subscriptions }) {
    return { type: 'subscriptions', subscriptions: await subscriptions.list(call, params) };
  },
});
