/** delivery.retry (extension): send a finished delivery again now (one more attempt). */
import { defineMethod } from './method';

export const deliveryRetry = defineMethod<{ deliveryId: string }>({
  name: 'delivery.retry',
  schema: 'arc:methods/delivery.retry',
  async handle(params, call, { subscriptions }) {
    return subscriptions.retry(call, params);
  },
});
