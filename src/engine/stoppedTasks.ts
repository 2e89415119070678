/**
 * Tells an agent when one of its tasks is canceled or fails by its deadline while no handler
 * of it runs (the task waits for input, for a retry, in the queue): `AgentDefinition.stopped`,
 * so that it can let go of what it holds for the task elsewhere (a remote agent cancels its
 * remote task). A running turn learns it from its signal instead.
 *
 * The hook is owed durably (stops_owed, written with the task's end; see stopRows.ts): this
 * process tells it at once if it hosts the agent, else a process that does takes it on its
 * next sweep; one that dies before telling it leaves it to the next taker once its lease has
 * lapsed (at least once). A turn whose handler heard the end by its signal deletes it as it
 * hears (Runner.launch).
 */
import type { Logger } from 'pino';
import type { AgentDefinition, StopCause } from '../agents/contract';
import type { AgentRegistry } from '../agents/registry';
import type { Clock } from '../clock';
import type { TaskRecord } from '../store/records';
import type { OwedStop } from '../store/stopRows';
import type { Store } from '../store/store';
import { endedAt, isTerminal } from '../tasks/states';
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
  /** Whether a turn of the task here may yet hear, or heard, of its end (Runner.turnHere). */
  turnHere(taskId: string): boolean;
}

/** How long after its task's end a failing hook of a `stoppedAlways` agent is told again. */
const RETRY_FOR_MS = 24 * 3_600_000;

/** Hooks told at once at most; a sweep takes no more than leaves room for. */
const MAX_TELLING = 16;

export class StoppedTasks {
  /** Hooks still under way: a shutdown waits for them (see `drained`). */
  private readonly telling = new Set<Promise<void>>();
  /** The tasks whose owed hook is being told here: never told twice at once. */
  private readonly tellingTasks = new Set<string>();
  private sweepTimer?: NodeJS.Timeout;
  private sweeping: Promise<void> | undefined;
  private stopping = false;

  constructor(private readonly deps: StoppedTasksDeps) {}

  /** Looks every `everyMs` for owed stops of the agents hosted here (now, too). */
  start(everyMs: number): void {
    this.stopping = false;
    this.sweepTimer = setInterval(() => void this.sweep(), everyMs);
    void this.sweep();
  }

  /** Takes no more owed stops (those under way finish: see `drained`). */
  stop(): void {
    this.stopping = true;
    clearInterval(this.sweepTimer);
  }

  /**
   * Resolves once the sweep and every hook under way have returned, or after `ms`: a shutdown
   * waits for them before the store closes, so that a remote task is not left waiting for ever.
   */
  async drained(ms: number): Promise<void> {
    const all = async () => {
      await this.sweeping;
      while (this.telling.size > 0) await Promise.all(this.telling);
    };
    await settledWithin(all(), ms);
  }

  /** A commit of this process that owes a hook: told from here if the agent is hosted here. */
  committed(task: TaskRecord, stopOwed: StopCause | undefined): void {
    if (!stopOwed || this.stopping || !this.deps.agents.get(task.assignedAgent)) return;
    if (this.telling.size >= MAX_TELLING) return; // the sweep takes it once there is room
    this.track(this.takeAndTell(task.taskId));
  }

  /** Takes the owed stops of the agents hosted here that nobody holds, and tells them. */
  sweep(): Promise<void> {
    this.sweeping ??= this.takeOwed().finally(() => (this.sweeping = undefined));
    return this.sweeping;
  }

  private async takeOwed(): Promise<void> {
    const room = MAX_TELLING - this.telling.size;
    if (this.stopping || room <= 0) return;
    try {
      const { owner, now, until } = this.lease();
      const taken = await this.deps.store.takeOwedStops(
        this.deps.agents.ids(),
        owner,
        now,
        until,
        room,
      );
      for (const stop of taken) this.track(this.tellOwed(stop));
    } catch (error) {
      this.deps.logger.error({ err: error }, 'owed stopped hooks could not be read');
    }
  }

  /** A take's lease: this process's, from now for `leaseMs`. */
  private lease() {
    const now = this.deps.clock().getTime();
    return { owner: this.deps.owner, now, until: now + this.deps.leaseMs };
  }

  private track(telling: Promise<void>): void {
    const tracked = telling.finally(() => this.telling.delete(tracked));
    this.telling.add(tracked);
  }

  private async takeAndTell(taskId: string): Promise<void> {
    try {
      const { owner, now, until } = this.lease();
      const stop = await this.deps.store.takeOwedStop(taskId, owner, now, until);
      if (stop) await this.tellOwed(stop);
    } catch (error) {
      // Left owed: the next sweep takes it.
      this.deps.logger.warn({ err: error, taskId }, 'an owed stopped hook could not be taken');
    }
  }

  /**
   * Tells an owed stop's agent, then lets the row go; not told (the row goes all the same)
   * when the agent has no hook, or the task runs again or is gone. Left for later (the row let
   * go) while a turn of the task is here, or while this process tells the task's earlier end.
   * A turn here that heard its task end deleted that end's row as it heard it (Runner.launch):
   * a row found while it winds down is a later end's (the task ran again and ended again), to
   * be told once that turn is gone.
   */
  private async tellOwed(stop: OwedStop): Promise<void> {
    if (this.deps.turnHere(stop.taskId) || this.tellingTasks.has(stop.taskId)) {
      await this.deps.store.releaseOwedStop(stop).catch(() => undefined); // lapses anyway
      return;
    }
    this.tellingTasks.add(stop.taskId);
    try {
      const agent = this.deps.agents.get(stop.agent);
      const task = agent?.stopped ? await this.deps.store.getTask(stop.taskId) : undefined;
      if (agent?.stopped && !task) {
        this.deps.logger.warn({ taskId: stop.taskId }, 'task deleted before its stopped hook');
      }
      if (agent && task && isTerminal(task.status)) {
        const told = await this.tell(agent, task, stop.cause);
        // Held on: taken again (here or elsewhere) once the hold lapses.
        if (!told && agent.stoppedAlways && this.stillRetried(task)) return;
      }
      await this.deps.store.stopTold(stop);
    } catch (error) {
      // Left owed: taken again once its lease lapses.
      this.deps.logger.warn({ err: error, taskId: stop.taskId }, 'an owed stopped hook failed');
    } finally {
      this.tellingTasks.delete(stop.taskId);
    }
  }

  /** Whether the hook returned (false: it threw, which is logged). */
  private async tell(agent: AgentDefinition, task: TaskRecord, cause: StopCause) {
    try {
      // The run's own checkpoint, as its turns saw it (one from before the run is not its).
      const checkpoint = await runCheckpoint(this.deps.store, task);
      await agent.stopped!(toWireTask(task), cause, checkpoint?.data);
      return true;
    } catch (error) {
      this.deps.logger.warn(
        { err: error, taskId: task.taskId, agent: agent.id },
        'an agent failed to let go of a stopped task',
      );
      return false;
    }
  }

  /** A failed hook of a `stoppedAlways` agent is told again for up to RETRY_FOR_MS. */
  private stillRetried(task: TaskRecord): boolean {
    if (this.deps.clock().getTime() - Date.parse(endedAt(task)) < RETRY_FOR_MS) return true;
    this.deps.logger.error(
      { taskId: task.taskId, agent: task.assignedAgent },
      'a stopped hook failed for a day: given up',
    );
    return false;
  }
}
