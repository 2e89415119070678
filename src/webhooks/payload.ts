/**
 * The webhook body as the ARC SDK's webhook receivers expect it (a flat object, not an
 * envelope), plus `sequence` (the event's per-task number) for ordering and de-duplication.
 */
import type { DeliveryJob } from '../store/records';

export function webhookBody(job: DeliveryJob): string {
  const { event, subscription } = job;
  return JSON.stringify({
    arc: '1.0',
    method: 'task.notification',
    requestAgent: job.taskAgent,
    taskId: event.taskId,
    event: event.type,
    timestamp: event.createdAt,
    data: event.data,
    ...(job.traceId ? { traceId: job.traceId } : {}),
    subscriptionId: subscription.subscriptionId,
    sequence: event.seq,
  });
}
