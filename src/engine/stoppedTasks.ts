/**
 * Tells an agent when one of its tasks is canceled or fails by its deadline while no handler
 * of it runs (the task waits for input, for a retry, in the queue): `AgentDefinition.stopped`,
 * so that it can let go of what it holds for the task elsewhere (a remote agent cancels its
 * remote task). A running turn learns it from its signal instead.
 *
 * A task no turn held when it ended owes the hook durably (stops_owed, written with the
 * change): this process tells it at once if it hosts the agent, else a process that does
 * takes it on its next sweep; one that dies before telling it leaves it to the next taker,
 * once its lease has lapsed (at least once). A task whose turn was still ending here (its
 * handler had returned) is told from the commit alone.
 */
import type { Logger } from 'pino';
import type { AgentDefinition, StopCause } from '../agents/contract';
import type { AgentRegistry } from '../agents/registry';
import type { Clock } from '../clock';
import type { EventRecord, TaskRecord } from '../store/records';
import type { OwedStop } from '../store/stopRows';
import type { Store } from '../store/store';
import { isTerminal } from '../tasks/states';
import { stopCauseOf } from '../tasks/stopCause';
import { runCheckpoint } from './runCheckpoint';
import { settledWithin } from './settledWithin';
import { toWireTask } from '../tasks/toWire';

export interface StoppedTasksDeps {
  agents: AgentRegistry;
  store: Store;
  logger: Logger;
  clock: Clock;
  /** This process's lease owner (the runner's): who holds the owed stops it takes. */
  owner: string;
  /** How long an owed stop taken stays this process's before another may take it. */
  leaseMs: number;
  /** Whether a handler of the task runs in this process now (it hears a stop itself). */
  handlerRuns(taskId: string): boolean;
}

/** Owed stops taken a sweep at most. */
const SWEEP_BATCH = 50;

export class StoppedTasks {
  /** Hooks still under way: a shutdown waits for them (see `drained`). */
  private readonly telling = new Set<Promise<void>>();
  private sweepTimer?: NodeJS.Timeout;
  private sweeping = false;

  constructor(private readonly deps: StoppedTasksDeps) {}

  /** Looks every `everyMs` for owed stops of the agents hosted here (now, too). */
  start(everyMs: number): void {
    this.sweepTimer = setInterval(() => void this.sweep(), everyMs);
    void this.sweep();
  }

  stop(): void {
    clearInterval(this.sweepTimer);
  }

  /**
   * Resolves once every hook under way has returned, or after `ms`: a shutdown waits for them
   * before the store closes, so that a remote task is not left waiting for ever.
   */
  async drained(ms: number): Promise<void> {
    await settledWithin(Promise.all(this.telling), ms);
  }

  /** A commit of this process: the agent is told if it ended one of its idle tasks. */
  committed(
    task: TaskRecord,
    events: readonly EventRecord[] | undefined,
    stopOwed: StopCause | undefined,
  ): void {
    if (stopOwed) {
      // Owed durably: told from here if the agent is, else by a process hosting it.
      if (this.deps.agents.get(task.assignedAgent)) this.track(this.takeAndTell(task.taskId));
      return;
    }
    if (!isTerminal(task.status) || task.leaseOwner !== this.deps.owner) return;
    // Its turn here still held it: unless its handler runs (the signal tells it), the handler
    // had returned and the turn was still ending.
    const cause = stopCauseOf(events);
    const agent = this.deps.agents.get(task.assignedAgent);
    if (!cause || !agent?.stopped || this.deps.handlerRuns(task.taskId)) return;
    this.track(this.tell(agent, task, cause));
  }

  /** Takes the owed stops of the agents hosted here that nobody holds, and tells them. */
  async sweep(): Promise<void> {
    if (this.sweeping) return;
    this.sweeping = true;
    try {
      const now = this.deps.clock().getTime();
      const taken = await this.deps.store.takeOwedStops(
        this.deps.agents.ids(),
        this.deps.owner,
        now,
        now + this.deps.leaseMs,
        SWEEP_BATCH,
      );
      for (const stop of taken) this.track(this.tellOwed(stop));
    } catch (error) {
      this.deps.logger.error({ err: error }, 'owed stopped hooks could not be read');
    } finally {
      this.sweeping = false;
    }
  }

  private track(telling: Promise<void>): void {
    const tracked = telling.finally(() => this.telling.delete(tracked));
    this.telling.add(tracked);
  }

  private async takeAndTell(taskId: string): Promise<void> {
    try {
      const now = this.deps.clock().getTime();
      const stop = await this.deps.store.takeOwedStop(
        taskId,
        this.deps.owner,
        now,
        now + this.deps.leaseMs,
      );
      if (stop) await this.tellOwed(stop);
    } catch (error) {
      // Left owed: the next sweep takes it.
      this.deps.logger.warn({ err: error, taskId }, 'an owed stopped hook could not be taken');
    }
  }

  /** Tells an owed stop's agent (if it has a hook), then lets the row go. */
  private async tellOwed(stop: OwedStop): Promise<void> {
    try {
      const agent = this.deps.agents.get(stop.agent);
      const task = agent?.stopped ? await this.deps.store.getTask(stop.taskId) : undefined;
      if (agent && task) await this.tell(agent, task, stop.cause);
      await this.deps.store.stopTold(stop.taskId, this.deps.owner);
    } catch (error) {
      // Left owed: taken again once its lease lapses.
      this.deps.logger.warn({ err: error, taskId: stop.taskId }, 'an owed stopped hook failed');
    }
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
