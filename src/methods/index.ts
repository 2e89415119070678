/** The method table: every ARC method arcd serves, and the older names it accepts. */
import type { MethodDefinition } from './method';
import { taskCancel } from './taskCancel';
import { taskCreate } from './taskCreate';
import { taskInfo } from './taskInfo';
import { taskNotification } from './taskNotification';
import { taskSend } from './taskSend';
import { taskSubscribe } from './taskSubscribe';
import { taskRuns } from './taskRuns';
import { taskEvents } from './taskEvents';
import { taskList } from './taskList';
import { taskUpdate } from './taskUpdate';
import { taskRetry } from './taskRetry';
import { taskDelete } from './taskDelete';
import { taskRun } from './taskRun';
import { scheduleCreate } from './scheduleCreate';
import { scheduleList } from './scheduleList';
import { scheduleDelete, schedulePause, scheduleResume } from './scheduleState';
import { triggerCreate } from './triggerCreate';
import { triggerDelete, triggerList } from './triggerManage';
import { chatStart } from './chatStart';
import { chatMessage } from './chatMessage';
import { chatEnd } from './chatEnd';
import { subscriptionList } from './subscriptionList';
import { subscriptionCancel } from './subscriptionCancel';
import { deliveryList } from './deliveryList';
import { deliveryRetry } from './deliveryRetry';

export const METHODS: readonly MethodDefinition[] = [
  taskCreate,
  taskSend,
  taskInfo,
  taskCancel,
  taskSubscribe,
  taskNotification,
  taskRuns,
  taskEvents,
  taskList,
  taskUpdate,
  taskRetry,
  taskDelete,
  taskRun,
  scheduleCreate,
  scheduleList,
  schedulePause,
  scheduleResume,
  scheduleDelete,
  triggerCreate,
  triggerList,
  triggerDelete,
  chatStart,
  chatMessage,
  chatEnd,
  subscriptionList,
  subscriptionCancel,
  deliveryList,
  deliveryRetry,
];

export const METHOD_ALIASES: Readonly<Record<string, string>> = { 'task.get': 'task.info' };
