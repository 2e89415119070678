/**
 * The engine's scheduler: claims tasks that owe a turn from the store (most urgent first,
 * then oldest, under the global limit and each agent's own), keeps their leases alive while
 * their turns run, fails tasks whose deadline passed, and aborts turns on cancel, timeout,
 * deadline or shutdown. What a turn does is TurnExecutor's business.
 */
import type { Logger } from 'pino';
import type { AgentRegistry } from '../agents/registry';
import type { AgentLimits, TaskRecord } from '../store/records';
import type { Store } from '../store/store';
import type { SchemaRegistry } from '../rpc/schemas';
import { type Clock, isoNow } from '../clock';
import { newId } from '../ids';
import { SerialPump } from '../serialPump';
import * as changes from '../tasks/changes';
import { isTerminal } from '../tasks/states';
import { TurnStopped } from './stopReason';
import { type BegunRun, TurnExecutor } from './turnExecutor';

export interface RunnerOptions {
  store: Store;
  registry: AgentRegistry;
  schemas: SchemaRegistry;
  clock: Clock;
  logger: Logger;
  concurrency: number;
  /** Per-agent turn limits from config, over what agents declare. */
  agentConcurrency: Record<string, number>;
  leaseMs: number;
  pollMs: number;
  /** How long stop() waits for aborted handlers to return. */
  shutdownGraceMs: number;
}

interface RunningTurn {
  controller: AbortController;
  done: Promise<void>;
}

const DEADLINE_BATCH = 100;

export class Runner {
  readonly owner = newId('runner');
  private readonly running = new Map<string, RunningTurn>();
  private readonly executor: TurnExecutor;
  /** Coalesced: the pokes of one tick (a burst of creates, of finished turns) share a claim. */
  private readonly pump = new SerialPump(
    () => this.claimAndLaunch(),
    (error) => this.options.logger.error({ err: error }, 'runner claim failed'),
    true,
  );
  private stopped = true;
  private pollTimer?: NodeJS.Timeout;
  private heartbeatTimer?: NodeJS.Timeout;

  constructor(private readonly options: RunnerOptions) {
    this.executor = new TurnExecutor({ ...options, owner: this.owner });
  }

  start(): void {
    this.stopped = false;
    this.pump.resume();
    this.pollTimer = setInterval(() => {
      this.poke();
      void this.sweepDeadlines();
    }, this.options.pollMs);
    this.heartbeatTimer = setInterval(() => void this.heartbeat(), this.options.leaseMs / 3);
    this.poke();
    void this.sweepDeadlines();
  }

  /** Looks for owed turns now (called after every write that makes one). */
  poke(): void {
    this.pump.poke();
  }

  /** Aborts the running turn of a canceled task; its handler sees `signal.aborted`. */
  abort(taskId: string, reason: string): void {
    this.running.get(taskId)?.controller.abort(new TurnStopped('canceled', reason));
  }

  get activeTurns(): number {
    return this.running.size;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.pump.stop();
    clearInterval(this.pollTimer);
    clearInterval(this.heartbeatTimer);
    for (const turn of this.running.values()) {
      turn.controller.abort(new TurnStopped('shutdown', 'server shutting down'));
    }
    const all = Promise.all([...this.running.values()].map((turn) => turn.done));
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, this.options.shutdownGraceMs);
    });
    await Promise.race([all, grace]);
    clearTimeout(timer);
  }

  /** The limit of each agent: config first, then what the agent declares. */
  private agentLimits(): AgentLimits {
    const limits: Record<string, number> = {};
    for (const agent of this.options.registry.list()) {
      const limit = this.options.agentConcurrency[agent.id] ?? agent.limits?.concurrency;
      if (limit !== undefined) limits[agent.id] = limit;
    }
    return { defaultLimit: this.options.concurrency, limits, hosted: this.options.registry.ids() };
  }

  private async claimAndLaunch(): Promise<void> {
    const { store, concurrency, leaseMs, clock } = this.options;
    for (;;) {
      const free = concurrency - this.running.size;
      if (free <= 0 || this.stopped) return;
      const begun = new Map<string, BegunRun>();
      const hosted = (agentId: string) => this.options.registry.get(agentId) !== undefined;
      const claimed = await store.claimTurns(
        this.owner,
        free,
        clock().getTime(),
        leaseMs,
        this.agentLimits(),
        this.executor.beginPlan(hosted, begun),
      );
      for (const task of claimed) this.launch(task, begun.get(task.taskId));
      if (claimed.length < free) return; // nothing more is runnable now
    }
  }

  private async heartbeat(): Promise<void> {
    if (this.running.size === 0) return;
    const until = this.options.clock().getTime() + this.options.leaseMs;
    await this.options.store
      .renewLeases(this.owner, [...this.running.keys()], until)
      .catch((error: unknown) => this.options.logger.error({ err: error }, 'lease renewal failed'));
  }

  /** Fails every live task whose deadline has passed, queued, running or waiting alike. */
  private async sweepDeadlines(): Promise<void> {
    if (this.stopped) return;
    const { store, clock, logger } = this.options;
    try {
      const overdue = await store.overdueTasks(isoNow(clock), DEADLINE_BATCH);
      for (const taskId of overdue) {
        const at = isoNow(clock);
        const applied = await store.mutateTask(taskId, (task: TaskRecord) =>
          isTerminal(task.status) || !task.deadline || task.deadline > at
            ? null
            : changes.failed(
                task,
                { code: -42011, message: 'deadline exceeded', deadline: task.deadline },
                at,
              ),
        );
        if (applied?.task.status === 'FAILED') {
          this.running
            .get(taskId)
            ?.controller.abort(new TurnStopped('deadline', 'deadline exceeded'));
        }
      }
    } catch (error) {
      logger.error({ err: error }, 'deadline sweep failed');
    }
  }

  private launch(task: TaskRecord, run: BegunRun | undefined): void {
    const controller = new AbortController();
    const agent = this.options.registry.get(task.assignedAgent);
    const done = this.executor
      .run(task, agent, controller, run)
      .catch((error: unknown) =>
        this.options.logger.error({ err: error, taskId: task.taskId }, 'turn bookkeeping failed'),
      )
      .finally(async () => {
        this.running.delete(task.taskId);
        await this.options.store.releaseLease(task.taskId, this.owner).catch(() => undefined);
        this.poke();
      });
    this.running.set(task.taskId, { controller, done });
  }
}
