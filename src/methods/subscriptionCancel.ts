/** subscription.cancel (extension): stop a subscription; what it still owed is canceled. */
import { defineMethod } from './method';

export const subscriptionCancel = defineMethod<{ subscriptionId: string }>({
  name: 'subscription.cancel',
  schema: 'arc:methods/subscription.cancel',
  async handle(params, call, { subscriptions }) {
    return { type: 'subscription', subscription: await subscriptions.cancel(call, params) };
  },
});
