/** The method table: every ARC method arcd serves, and the older names it accepts. */
import type { MethodDefinition } from './method';
import { taskCancel } from './taskCancel';
import { taskCreate } from './taskCreate';
import { taskInfo } from './taskInfo';
import { taskNotification } from './taskNotification';
import { taskSend } from './taskSend';
import { taskSubscribe } from './taskSubscribe';

export const METHODS: readonly MethodDefinition[] = [
  taskCreate,
  taskSend,
  taskInfo,
  taskCancel,
  taskSubscribe,
  taskNotification,
];

export const METHOD_ALIASES: Readonly<Record<string, string>> = { 'task.get': 'task.info' };
