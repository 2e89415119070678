/** delivery.list (extension): the caller's webhook deliveries, newest first, with attempts. */
import type { DeliveryStatus } from '../store/records';
import { defineMethod } from './method';

export const deliveryList = defineMethod<{
  taskId?: string;
  subscriptionId?: string;
  status?: DeliveryStatus;
  limit?: number;
}>({
  name: 'delivery.list',
  schema: 'arc:methods/delivery.list',
  async handle(params, call, { subscriptions }) {
    return { type: 'deliveries', deliveries: await subscriptions.deliveries(call, params) };
  },
});
