/**
 * Records → ARC wire objects. Internal bookkeeping (leases, counters, owner) never leaves here.
 */
import type { Artifact, Message, Subscription, Task } from '../types';
import type {
  ArtifactRecord,
  MessageRecord,
  SubscriptionRecord,
  TaskRecord,
} from '../store/records';
import { compact } from '../store/rowMapping';

export function toWireMessage(m: Omit<MessageRecord, 'seq'>): Message & { messageId: string } {
  return compact({
    messageId: m.messageId,
    role: m.role,
    parts: m.parts,
    timestamp: m.timestamp,
    agentId: m.agentId,
  });
}

export function toWireArtifact(a: Omit<ArtifactRecord, 'seq'>): Artifact {
  return compact({
    artifactId: a.artifactId,
    name: a.name,
    parts: a.parts,
    createdAt: a.createdAt,
    description: a.description,
    createdBy: a.createdBy,
    version: a.version,
    metadata: a.metadata,
  });
}

export function toWireTask(
  t: TaskRecord,
  extras: { messages?: MessageRecord[]; artifacts?: ArtifactRecord[] } = {},
): Task {
  return compact({
    taskId: t.taskId,
    status: t.status,
    createdAt: t.createdAt,
    updatedAt: t.updatedAt,
    completedAt: t.completedAt,
    canceledAt: t.canceledAt,
    failedAt: t.failedAt,
    reason: t.reason,
    error: t.error,
    assignedAgent: t.assignedAgent,
    requestAgent: t.requestAgent,
    priority: t.priority,
    metadata: t.metadata,
    messages: extras.messages?.map(toWireMessage),
    artifacts: extras.artifacts?.map(toWireArtifact),
  });
}

export function toWireSubscription(s: SubscriptionRecord): Subscription {
  return {
    subscriptionId: s.subscriptionId,
    taskId: s.taskId,
    callbackUrl: s.callbackUrl,
    events: s.events,
    createdAt: s.createdAt,
    active: s.active,
  };
}
