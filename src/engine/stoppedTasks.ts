/**
 * Tells an agent when one of its tasks is canceled or fails by its deadline while no turn of
 * it runs here (the task waits for input, for a retry, in the queue): `AgentDefinition.stopped`,
 * so that it can let go of what it holds for the task elsewhere (a remote agent cancels its
 * remote task). A running turn learns it from its signal instead.
 */
import type { Logger } from 'pino';
import type { AgentDefinition, StopCause } from '../agents/contract';
import type { AgentRegistry } from '../agents/registry';
import type { EventRecord, TaskRecord } from '../store/records';
import type { Store } from '../store/store';
import { isTerminal } from '../tasks/states';
import { runCheckpoint } from './runCheckpoint';
import { settledWithin } from './settledWithin';
import { toWireTask } from '../tasks/toWire';
import { TASK_DEADLINE_EXCEEDED } from '../tasks/failureCodes';

export interface StoppedTasksDeps {
  agents: AgentRegistry;
  store: Store;
  logger: Logger;
  /** Whether a handler of the task runs in this process now (it hears a stop itself). */
  handlerRuns(taskId: string): boolean;
}

/**
 * What the commit's events say ended the task, if it was a cancel or a deadline (its own
 * events: a parent's log also carries its children's, tagged `childTaskId`).
 */
function causeOf(events: readonly EventRecord[] | undefined): StopCause | undefined {
  for (const event of events ?? []) {
    if (event.data.childTaskId !== undefined) continue;
    if (event.type === 'TASK_CANCELED') return 'canceled';
    const error = event.type === 'TASK_FAILED' ? event.data.error : undefined;
    if (
      error &&
      typeof error === 'object' &&
      (error as { code?: unknown }).code === TASK_DEADLINE_EXCEEDED
    ) {
      return 'deadline';
    }
  }
  return undefined;
}

export class StoppedTasks {
  /** Hooks still under way: a shutdown waits for them (see `drained`). */
  private readonly telling = new Set<Promise<void>>();

  constructor(private readonly deps: StoppedTasksDeps) {}

  /**
   * Resolves once every hook under way has returned, or after `ms`: a shutdown waits for them
   * before the store closes, so that a remote task is not left waiting for ever.
   */
  async drained(ms: number): Promise<void> {
    await settledWithin(Promise.all(this.telling), ms);
  }

  /** A commit of this process: the agent is told if it ended one of its idle tasks. */
  committed(task: TaskRecord, events: readonly EventRecord[] | undefined): void {
    if (!isTerminal(task.status)) return;
    const cause = causeOf(events);
    if (!cause) return;
    const agent = this.deps.agents.get(task.assignedAgent);
    if (!agent?.stopped || this.deps.handlerRuns(task.taskId)) return;
    const telling = this.tell(agent, task, cause).finally(() => this.telling.delete(telling));
    this.telling.add(telling);
  }

  private async tell(agent: AgentDefinition, task: TaskRecord, cause: StopCause): Promise<void> {
    try {
      // The run's own checkpoint, as its turns saw it (one from before the run is not its).
      const checkpoint = await runCheckpoint(this.deps.store, task);
      await agent.stopped!(toWireTask(task), cause, checkpoint?.data);
    } catch (error) {
      this.deps.logger.warn(
        { err: error, taskId: task.taskId, agent: agent.id },
        'an agent failed to let go of a stopped task',
      );
    }
  }
}
