/**
 * Records → ARC wire objects. Internal bookkeeping (leases, counters, owner) never leaves here.
 */
import type { Artifact, Message, Subscription, Task } from '../types';
import type {
  ArtifactRecord,
  MessageRecord,
  RunRecord,
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

export function toWireRun(r: RunRecord) {
  return compact({
    runId: r.runId,
    attempt: r.attempt,
    startedAt: r.startedAt,
    completedAt: r.completedAt,
    durationMs: r.durationMs,
    outcome: r.outcome,
    error: r.error,
    tokensUsed: r.tokensUsed,
    cost: r.cost,
  });
}

export function toWireTask(
  t: TaskRecord,
  extras: { messages?: MessageRecord[]; artifacts?: ArtifactRecord[]; runs?: RunRecord[] } = {},
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
    settings: t.settings,
    deadline: t.deadline,
    attempt: t.attempt,
    maxRetries: t.settings?.maxRetries ?? 0,
    nextAttemptAt:
      t.nextAttemptAt !== undefined && t.pendingTurn
        ? new Date(t.nextAttemptAt).toISOString()
        : undefined,
    lastError: t.lastError,
    internalStatus: t.internalStatus,
    progress: t.progress,
    usage: { tokensUsed: t.tokensUsed, cost: t.cost },
    dependencies: t.dependencies,
    parentTaskId: t.parentTaskId,
    childTaskIds: t.childTaskIds,
    waitingOnDependencies: t.blocked || undefined,
    messages: extras.messages?.map(toWireMessage),
    artifacts: extras.artifacts?.map(toWireArtifact),
    runs: extras.runs?.map(toWireRun),
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
