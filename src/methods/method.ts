/**
 * What one ARC method is: its name, the JSON Schema of its params, and a handler that calls a
 * service and shapes the result. Methods know nothing of HTTP or envelopes.
 */
import type { CallContext } from '../types';
import type { TaskService } from '../tasks/taskService';
import type { ChatService } from '../chat/chatService';
import type { SubscriptionService } from '../webhooks/subscriptionService';
import type { ScheduleService } from '../schedules/scheduleService';
import type { TriggerService } from '../triggers/triggerService';

export interface Services {
  tasks: TaskService;
  subscriptions: SubscriptionService;
  chats: ChatService;
  schedules: ScheduleService;
  triggers: TriggerService;
}

export interface MethodDefinition<P = unknown> {
  name: string;
  /** The `$id` of the params schema under schemas/methods/. */
  schema: string;
  handle(params: P, call: CallContext, services: Services): Promise<unknown>;
}

export function defineMethod<P>(definition: MethodDefinition<P>): MethodDefinition<unknown> {
  return definition as MethodDefinition<unknown>;
}
