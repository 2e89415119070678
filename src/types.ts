/**
 * The ARC 1.0 objects as they travel on the wire, and the glossary of arcd.
 *
 * - task: one unit of work handed to one agent; its status follows tasks/states.ts.
 * - turn: one call of an agent's handler (after task.create, and after each task.send that
 *   answers an INPUT_REQUIRED task).
 * - event: one stored change of a task (TASK_CREATED, NEW_MESSAGE, …), numbered per task.
 * - subscription: a callback URL that wants some of a task's events.
 * - delivery: one event owed to one subscription (the outbox row); attempt: one POST of it.
 */

export const TASK_STATUSES = [
  'SUBMITTED',
  'WORKING',
  'INPUT_REQUIRED',
  'COMPLETED',
  'FAILED',
  'CANCELED',
] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];

export const PRIORITIES = ['LOW', 'NORMAL', 'HIGH', 'URGENT'] as const;
export type Priority = (typeof PRIORITIES)[number];

export const EVENT_TYPES = [
  'TASK_CREATED',
  'TASK_STARTED',
  'TASK_PAUSED',
  'TASK_RESUMED',
  'TASK_COMPLETED',
  'TASK_FAILED',
  'TASK_CANCELED',
  'STATUS_CHANGE',
  'NEW_MESSAGE',
  'NEW_ARTIFACT',
  // arcd extensions (EXTENSION_EVENT_TYPES): only subscribers who name them receive them.
  'TASK_UPDATED',
  'TASK_RETRIED',
  'TASK_RERUN',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/** Event types ARC does not define: a webhook gets them only when its subscription names them. */
export const EXTENSION_EVENT_TYPES: ReadonlySet<EventType> = new Set([
  'TASK_UPDATED',
  'TASK_RETRIED',
  'TASK_RERUN',
]);

export type JsonValue =
  string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

export interface Part {
  type: string;
  content: JsonValue;
  mimeType?: string;
  filename?: string;
  size?: number;
  encoding?: 'base64' | 'utf8' | 'binary';
  width?: number;
  height?: number;
  duration?: number;
}

export type Role = 'user' | 'agent' | 'system';

export interface Message {
  role: Role;
  parts: Part[];
  timestamp?: string;
  agentId?: string;
}

export interface Artifact {
  artifactId: string;
  name: string;
  parts: Part[];
  createdAt: string;
  description?: string;
  createdBy?: string;
  version?: string;
  metadata?: JsonObject;
}

export interface Task {
  taskId: string;
  status: TaskStatus;
  createdAt: string;
  updatedAt: string;
  completedAt?: string;
  canceledAt?: string;
  reason?: string;
  assignedAgent: string;
  priority: Priority;
  metadata?: JsonObject;
  messages?: Message[];
  artifacts?: Artifact[];
}

export interface Subscription {
  subscriptionId: string;
  taskId: string;
  callbackUrl: string;
  events: EventType[];
  createdAt: string;
  active: boolean;
}

/** Who is calling, and for which hosted agent: the per-request context of the dispatcher. */
export interface CallContext {
  requestAgent: string;
  targetAgent: string;
  traceId?: string;
  /** The caller's token holds `arc.admin` (it may see every caller's tasks in task.list). */
  admin?: boolean;
}
