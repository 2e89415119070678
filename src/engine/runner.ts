/**
 * The engine: claims tasks that owe a turn from the store (most urgent first, under a global
 * concurrency limit), holds a renewed lease on each, runs the agent's handler and turns its
 * outcome into events. It never changes a task it does not hold, and never lets a handler's
 * failure escape: the task fails with a readable reason instead.
 */
import type { Logger } from 'pino';
import type { AgentRegistry } from '../agents/registry';
import type { TurnResult } from '../agents/contract';
import type { Mutation, TaskRecord } from '../store/records';
import type { Store } from '../store/store';
import type { SchemaRegistry } from '../rpc/schemas';
import { type Clock, isoNow } from '../clock';
import { newId } from '../ids';
import * as changes from '../tasks/changes';
import { isTerminal } from '../tasks/states';
import { ContractError, type TurnState, createTurnContext, toAgentMessage } from './turnContext';

export interface RunnerOptions {
  store: Store;
  registry: AgentRegistry;
  schemas: SchemaRegistry;
  clock: Clock;
  logger: Logger;
  concurrency: number;
  leaseMs: number;
  pollMs: number;
  /** How long stop() waits for aborted handlers to return. */
  shutdownGraceMs: number;
}

interface RunningTurn {
  controller: AbortController;
  done: Promise<void>;
}

const SHUTDOWN = 'server shutting down';

export class Runner {
  readonly owner = newId('runner');
  private readonly running = new Map<string, RunningTurn>();
  private pumping = false;
  private pumpAgain = false;
  private stopped = true;
  private pollTimer?: NodeJS.Timeout;
  private heartbeatTimer?: NodeJS.Timeout;

  constructor(private readonly options: RunnerOptions) {}

  start(): void {
    this.stopped = false;
    this.pollTimer = setInterval(() => this.poke(), this.options.pollMs);
    this.heartbeatTimer = setInterval(() => void this.heartbeat(), this.options.leaseMs / 3);
    this.poke();
  }

  /** Looks for owed turns now (called after every write that makes one). */
  poke(): void {
    if (this.stopped) return;
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    this.pumping = true;
    void this.pump()
      .catch((error: unknown) => this.options.logger.error({ err: error }, 'runner claim failed'))
      .finally(() => {
        this.pumping = false;
        if (this.pumpAgain) {
          this.pumpAgain = false;
          this.poke();
        }
      });
  }

  /** Aborts the running turn of a canceled task; its handler sees `signal.aborted`. */
  abort(taskId: string, reason: string): void {
    this.running.get(taskId)?.controller.abort(new Error(reason));
  }

  get activeTurns(): number {
    return this.running.size;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.pollTimer);
    clearInterval(this.heartbeatTimer);
    for (const turn of this.running.values()) turn.controller.abort(new Error(SHUTDOWN));
    const all = Promise.all([...this.running.values()].map((turn) => turn.done));
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, this.options.shutdownGraceMs);
    });
    await Promise.race([all, grace]);
    clearTimeout(timer);
  }

  private async pump(): Promise<void> {
    const { store, concurrency, leaseMs, clock } = this.options;
    for (;;) {
      const free = concurrency - this.running.size;
      if (free <= 0 || this.stopped) return;
      const claimed = await store.claimTurns(this.owner, free, clock().getTime(), leaseMs);
      if (claimed.length === 0) return;
      for (const task of claimed) this.launch(task);
    }
  }

  private async heartbeat(): Promise<void> {
    if (this.running.size === 0) return;
    const until = this.options.clock().getTime() + this.options.leaseMs;
    await this.options.store
      .renewLeases(this.owner, [...this.running.keys()], until)
      .catch((error: unknown) => this.options.logger.error({ err: error }, 'lease renewal failed'));
  }

  private launch(task: TaskRecord): void {
    const controller = new AbortController();
    const done = this.runTurn(task, controller)
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

  /** Applies a change only if this runner still holds the task; false when it does not. */
  private async applyHeld(
    taskId: string,
    plan: (task: TaskRecord, at: string) => Mutation | null,
  ): Promise<TaskRecord | undefined> {
    const at = isoNow(this.options.clock);
    const applied = await this.options.store.mutateTask(taskId, (current) =>
      current.leaseOwner === this.owner ? plan(current, at) : null,
    );
    return applied?.task;
  }

  private async runTurn(claimed: TaskRecord, controller: AbortController): Promise<void> {
    const { registry, logger } = this.options;
    const agent = registry.get(claimed.assignedAgent);
    if (!agent) {
      await this.failTask(claimed.taskId, `agent ${claimed.assignedAgent} is not hosted here`);
      return;
    }
    const task = await this.applyHeld(claimed.taskId, (current, at) =>
      current.status === 'SUBMITTED' ? changes.started(current, at) : null,
    );
    if (!task || task.status !== 'WORKING') return;

    const state: TurnState = { paused: false, finished: false };
    const deps = { ...this.options, owner: this.owner };
    let result: TurnResult;
    try {
      const ctx = await createTurnContext(deps, task, controller.signal, state);
      result = await agent.handle(ctx);
      if (!state.paused && result !== undefined && !controller.signal.aborted) {
        const reply = toAgentMessage(deps, agent.id, result as Exclude<TurnResult, void>);
        await this.applyHeld(task.taskId, (current, at) =>
          current.status === 'WORKING' ? changes.messageAdded(current, reply, at) : null,
        );
      }
    } catch (error) {
      state.finished = true;
      if (controller.signal.aborted) return; // canceled or shutting down: nothing to record
      const message = error instanceof Error ? error.message : String(error);
      const prefix = error instanceof ContractError ? 'agent broke the contract: ' : '';
      logger.warn({ err: error, taskId: task.taskId, agent: agent.id }, 'handler failed');
      await this.failTask(task.taskId, `${prefix}${message || 'handler threw'}`);
      return;
    }
    state.finished = true;
    if (controller.signal.aborted || state.paused) return;
    await this.applyHeld(task.taskId, (current, at) =>
      current.status === 'WORKING' ? changes.completed(current, at) : null,
    );
  }

  private async failTask(taskId: string, reason: string): Promise<void> {
    await this.applyHeld(taskId, (current, at) =>
      !isTerminal(current.status)
        ? changes.failed(current, { code: -42004, message: reason }, at)
        : null,
    );
  }
}
