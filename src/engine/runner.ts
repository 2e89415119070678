/**
 * The engine's scheduler: claims tasks that owe a turn from the store (most urgent first,
 * then oldest, under the global limit and each agent's own), keeps their leases alive while
 * their turns run, fails tasks whose deadline passed, and aborts turns on cancel, timeout,
 * deadline or shutdown. What a turn does is TurnExecutor's business.
 */
import type { Logger } from 'pino';
import type { AgentRegistry } from '../agents/registry';
import type { AgentDefinition } from '../agents/contract';
import type { AgentLimits, MessageRecord, TaskRecord } from '../store/records';
import type { AppliedChange, StartPlan, Store } from '../store/store';
import type { SchemaRegistry } from '../rpc/schemas';
import { type Clock, isoNow } from '../clock';
import { newId } from '../ids';
import { extended } from '../extended';
import { SerialPump } from '../serialPump';
import * as changes from '../tasks/changes';
import { isTerminal } from '../tasks/states';
import { TurnStop, TurnStopped } from './stopReason';
import { isWriteOutcomeUnknown } from '../store/writeOutcomeUnknown';
import { type BegunRun, type TurnEnd, TurnExecutor, runEnd } from './turnExecutor';
import { DueTimers } from './dueTimers';
import { settledWithin } from './settledWithin';
import { TASK_DEADLINE_EXCEEDED } from '../tasks/failureCodes';

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
  /** A turn lost with its process this many times in a row fails its task; 0: never. */
  lostTurnLimit: number;
  pollMs: number;
  /** How long stop() waits for aborted handlers to return. */
  shutdownGraceMs: number;
  /** The part and message limits agents' output is held to, as callers' input is. */
  maxPartBytes: number;
  maxMessageBytes: number;
}

interface RunningTurn {
  stop: TurnStop;
  done: Promise<void>;
  /** Until when its lease is known to hold (epoch ms): as claimed, then as last renewed. */
  leasedUntil: number;
}

/**
 * A turn begun in the transaction that creates its task: `plan` starts it there, `launch`
 * runs it once that transaction committed, `cancel` gives the slot back (and stops the turn,
 * if it ran early) if it did not, or if whether it did is unknown (then the task, if stored,
 * is handed back to be claimed). `recorded` runs a pure agent's turn early, as soon as the
 * create is planned for its batch (see AgentDefinition.pure).
 */
export interface DirectStart {
  plan: StartPlan;
  recorded?: (planned: AppliedChange) => void;
  launch(started: TaskRecord, history: MessageRecord[]): void;
  cancel(why: unknown): void;
}

const DEADLINE_BATCH = 100;
/** How long a shutdown waits, past the handlers' grace, for their turns' last writes. */
const BOOKKEEPING_MS = 1_000;

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
  /** Slots promised to direct starts whose create has not committed yet. */
  private reserved = 0;
  /**
   * Whether owed turns may be waiting that only a claim would find: set by every poke, cleared
   * by a claim that found fewer than it had room for and saw no poke meanwhile. While clear,
   * a task created here may start directly without jumping a queue.
   */
  private backlog = true;
  /**
   * The last claim came back short while some agent has a turn limit of its own: that agent's
   * queued turns may be waiting only for one of its turns to end (so its ends claim again).
   */
  private limitedWaiting = false;
  private pokes = 0;
  private pollTimer?: NodeJS.Timeout;
  private heartbeatTimer?: NodeJS.Timeout;
  /** Tasks whose turn here has ended but whose lease is still being let go. */
  private readonly ending = new Set<string>();
  /** Tasks owed a turn while a turn of theirs was still ending here (see owed). */
  private readonly owedOnceEnded = new Set<string>();
  /** Retries planned here and deadlines passing before the next poll: looked at on time. */
  private readonly due: DueTimers;
  /** When the retry a turn running here planned falls due: timed once its lease is let go. */
  private readonly retriesPlanned = new Map<string, number>();

  constructor(private readonly options: RunnerOptions) {
    this.due = new DueTimers(options.clock, () => {
      this.poke();
      void this.sweepDeadlines();
    });
    const retryPlanned = (taskId: string, at: number) => this.retriesPlanned.set(taskId, at);
    const { maxPartBytes, maxMessageBytes } = options;
    const partLimits = { maxPartBytes, maxMessageBytes };
    this.executor = new TurnExecutor(
      extended(options, { owner: this.owner, retryPlanned, partLimits }),
    );
  }

  /**
   * After a commit that wrote a live task's events: a deadline it has that passes before the
   * next poll is looked at when it passes (later ones: see sweepDeadlines).
   */
  committed(task: TaskRecord): void {
    if (task.deadline !== undefined && !isTerminal(task.status)) {
      this.due.at(Date.parse(task.deadline), this.options.pollMs);
    }
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
    this.backlog = true;
    this.pokes += 1;
    this.pump.poke();
  }

  /**
   * A task owes a turn now (input came, it was run again): claim it. If a turn of it is still
   * ending here (its lease not yet let go, so the claim cannot take it), claim again once it
   * has: a reply sent the moment a turn paused would otherwise wait for the next poll.
   */
  owed(taskId: string): void {
    if (this.stillHere(taskId)) this.owedOnceEnded.add(taskId);
    this.poke();
  }

  /**
   * A task just created here for an agent hosted here may skip the claim: when a slot is free,
   * no owed turn is known to wait, and its agent has no turn limit of its own (those are
   * counted across every process on the file, by the claim), the create's own transaction
   * leases and starts it, and its turn runs as soon as that transaction has committed.
   */
  startNow(task: TaskRecord): DirectStart | undefined {
    if (this.stopped || this.backlog || !task.pendingTurn || task.blocked) return undefined;
    if (this.running.size + this.reserved >= this.options.concurrency) return undefined;
    const agent = this.options.registry.get(task.assignedAgent);
    if (!agent || this.agentLimit(agent) !== undefined) return undefined;
    this.reserved += 1;
    let reserved = true;
    const unreserve = () => {
      if (reserved) this.reserved -= 1;
      reserved = false;
    };
    const begun = new Map<string, BegunRun>();
    const begin = this.executor.beginPlan(() => true, begun);
    const until = this.options.clock().getTime() + this.options.leaseMs;
    /** The run the first plan began: planned again (after a failed batch), the start keeps it. */
    let first: BegunRun | undefined;
    /** Set once the turn runs (early, for a pure agent); `stop` ends it if the create fails. */
    let early: TurnStop | undefined;
    /** The run to launch the task as planned with, unless the engine stopped meanwhile. */
    const runFor = (task: TaskRecord) =>
      !this.stopped && task.status === 'WORKING' ? first : undefined;
    const start: DirectStart = {
      plan: (current, at) => {
        const change = begin(current, at);
        if (!change?.run?.start) return null;
        first ??= begun.get(current.taskId);
        if (!first) return null;
        begun.set(current.taskId, first);
        // A new task has no earlier runs to mark interrupted.
        return extended(change, {
          patch: extended(change.patch, { leaseOwner: this.owner, leaseUntil: until }),
          run: {
            interruptRunning: false,
            start: extended(change.run.start, {
              runId: first.runId,
              startedAt: first.startedAt.toISOString(),
            }),
          },
        });
      },
      launch: (started, history) => {
        if (early) return;
        unreserve();
        const run = runFor(started);
        if (!run) {
          // Not run here after all: hand the turn back at once, for a claim here or elsewhere.
          void this.handBackOwed(started.taskId, first);
          return;
        }
        this.launch(started, extended(run, { history }));
      },
      cancel: (why) => {
        unreserve();
        const unknown = isWriteOutcomeUnknown(why);
        if (early) {
          // Its end hands the task back if it is stored after all (see launch).
          early.stop(
            unknown
              ? new TurnStopped('interrupted', 'whether the task was stored is not known')
              : new TurnStopped('canceled', 'the task was not stored'),
          );
        } else if (unknown) {
          // It may be stored, leased to this process with no turn running: let go of it now
          // (nothing happens if it is not there), or it would wait until the lease lapses.
          void this.handBackOwed(task.taskId, first);
        }
      },
    };
    if (agent.pure) {
      start.recorded = ({ task: planned, messages = [] }) => {
        const run = runFor(planned);
        if (early || !run) return;
        unreserve();
        early = this.launch(planned, extended(run, { history: messages }));
      };
    }
    return start;
  }

  /** Aborts the running turn of a canceled task; its handler sees `signal.aborted`. */
  abort(taskId: string, reason: string): void {
    this.running.get(taskId)?.stop.stop(new TurnStopped('canceled', reason));
  }

  /**
   * Whether a turn of the task here may yet hear of its task's end, or has heard it: its
   * handler runs, or heard a cancel or its deadline by its signal. False with no turn here, or
   * one whose handler returned unstopped (it will never hear).
   */
  turnHere(taskId: string): boolean {
    const stop = this.running.get(taskId)?.stop;
    return stop !== undefined && (stop.heardTaskEnd || stop.heard);
  }

  get activeTurns(): number {
    return this.running.size;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    // A claim under way hands back what it claims (see claimAndLaunch): wait for it too.
    const claiming = this.pump.stop();
    clearInterval(this.pollTimer);
    this.due.stop();
    // The heartbeat goes on while the stopped turns wind down: their leases must outlast the
    // grace (else another process could claim a turn whose handler still runs).
    for (const turn of this.running.values()) {
      turn.stop.stop(new TurnStopped('shutdown', 'server shutting down'));
    }
    const all = Promise.all([claiming, ...[...this.running.values()].map((turn) => turn.done)]);
    // The handlers have the grace to return (TurnExecutor waits that long for each); then each
    // turn's bookkeeping (its run's end, its lease let go) has a moment more, so that a slow
    // handler's turn is handed back, not left leased to look lost with its process.
    await settledWithin(all, this.options.shutdownGraceMs + BOOKKEEPING_MS);
    clearInterval(this.heartbeatTimer);
  }

  /** An agent's own turn limit: config first, then what the agent declares. */
  private agentLimit(agent: AgentDefinition): number | undefined {
    return this.options.agentConcurrency[agent.id] ?? agent.limits?.concurrency;
  }

  private agentLimits(): AgentLimits {
    const limits: Record<string, number> = {};
    for (const agent of this.options.registry.list()) {
      const limit = this.agentLimit(agent);
      if (limit !== undefined) limits[agent.id] = limit;
    }
    return { limits, hosted: this.options.registry.ids() };
  }

  private async claimAndLaunch(): Promise<void> {
    const { store, concurrency, leaseMs, clock } = this.options;
    for (;;) {
      const free = concurrency - this.running.size - this.reserved;
      if (free <= 0 || this.stopped) return;
      const pokes = this.pokes;
      const begun = new Map<string, BegunRun>();
      // A turn of the task still here (its lease lapsed) is not begun again: the claim only
      // leases the task, the old run stays that turn's to end, and `unclaim` stops it.
      const runsHere = (task: TaskRecord) =>
        this.options.registry.get(task.assignedAgent) !== undefined && !this.stillHere(task.taskId);
      const limits = this.agentLimits();
      let claimed: TaskRecord[];
      // The slots this claim may fill are held while it is under way: a task created meanwhile
      // does not start in one of them (startNow), which would put one turn past the bound.
      this.reserved += free;
      try {
        claimed = await store.claimTurns(
          this.owner,
          free,
          clock().getTime(),
          leaseMs,
          limits,
          this.executor.beginPlan(runsHere, begun),
        );
      } catch (error) {
        // The claim may have committed: each turn it began is handed back (its run ended
        // interrupted, its lease let go), to be claimed again now, not after the lease runs out
        // and as a turn lost with its process.
        if (isWriteOutcomeUnknown(error)) {
          await Promise.all(
            [...begun].map(([taskId, run]) => this.unclaim(taskId, run, { owed: true })),
          );
        }
        throw error;
      } finally {
        this.reserved -= free;
      }
      if (this.stopped) {
        // Claimed while stopping: hand the turns back at once, for a claim elsewhere.
        await Promise.all(claimed.map((task) => this.unclaim(task.taskId, begun.get(task.taskId))));
        return;
      }
      for (const task of claimed) {
        if (this.stillHere(task.taskId)) void this.unclaim(task.taskId, begun.get(task.taskId));
        else this.launch(task, begun.get(task.taskId));
      }
      if (claimed.length < free) {
        if (this.pokes === pokes) {
          this.backlog = false; // nothing more is runnable now, but for limited agents' turns
          this.limitedWaiting = Object.keys(limits.limits).length > 0;
        }
        return;
      }
    }
  }

  /**
   * Keeps the running turns' leases alive, and aborts those whose task was stopped from
   * elsewhere (a cancel or a deadline another process on the same file stored): only the
   * process that stores a cancel can abort its turn at once.
   */
  private async heartbeat(): Promise<void> {
    if (this.running.size === 0) return;
    const { store, clock, leaseMs, logger } = this.options;
    const ids = [...this.running.keys()];
    const now = clock().getTime();
    try {
      const lost = new Set(await store.renewLeases(this.owner, ids, now + leaseMs));
      for (const taskId of ids) {
        const turn = this.running.get(taskId);
        if (turn && !lost.has(taskId)) turn.leasedUntil = now + leaseMs;
      }
      for (const { taskId, kind, reason } of await store.stoppedElsewhere(this.owner, ids)) {
        this.running.get(taskId)?.stop.stop(new TurnStopped(kind, reason));
      }
      // Not this process's lease any more: it lapsed (an event loop blocked past it) and
      // another process took the turn, and may have finished the task. (A turn whose own end
      // let its lease go is past its handler: the stop reaches no one.)
      for (const taskId of lost) {
        const reason = "the turn's lease is no longer this process's";
        this.running.get(taskId)?.stop.stop(new TurnStopped('interrupted', reason));
      }
    } catch (error) {
      logger.error({ err: error }, 'lease renewal failed');
      // Past its lease another process may claim the turn: two handlers must not run at once.
      // A turn whose lease lapses before the next try (a third of a lease away) is stopped
      // now, while the lease holds: its handler has until then to return.
      for (const turn of this.running.values()) {
        if (turn.leasedUntil <= now + leaseMs / 3) {
          const reason = 'its lease could not be renewed: it lapses before the next try';
          turn.stop.stop(new TurnStopped('interrupted', reason));
        }
      }
    }
  }

  /**
   * Fails every live task whose deadline has passed, queued, running or waiting alike; then
   * times the next deadline if it passes before the next poll.
   */
  private async sweepDeadlines(): Promise<void> {
    if (this.stopped) return;
    const { store, logger } = this.options;
    try {
      // A batch at a time; another at once after a full one that failed some (more may be
      // overdue now, not only at the next poll).
      for (let more = true; more && !this.stopped;) {
        more = await this.failOverdue();
      }
      const next = await store.nextDeadline();
      if (next !== undefined) this.due.at(Date.parse(next), this.options.pollMs);
    } catch (error) {
      logger.error({ err: error }, 'deadline sweep failed');
    }
  }

  /** Fails a batch of overdue tasks: whether it was full, and failed some. */
  private async failOverdue(): Promise<boolean> {
    const { store, clock } = this.options;
    const overdue = await store.overdueTasks(isoNow(clock), DEADLINE_BATCH);
    let failed = 0;
    for (const taskId of overdue) {
      const at = isoNow(clock);
      const applied = await store.mutateTask(taskId, (task: TaskRecord) =>
        isTerminal(task.status) || !task.deadline || task.deadline > at
          ? null
          : changes.failed(
              task,
              {
                code: TASK_DEADLINE_EXCEEDED,
                message: 'deadline exceeded',
                deadline: task.deadline,
              },
              at,
            ),
      );
      if (applied?.task.status === 'FAILED') {
        failed += 1;
        this.running.get(taskId)?.stop.stop(new TurnStopped('deadline', 'deadline exceeded'));
      }
    }
    return overdue.length === DEADLINE_BATCH && failed > 0;
  }

  /**
   * Lets go of a task's lease now (if the store is closing, the lease lapses instead). `unrun`:
   * a run begun for a turn handed back without being run (or whose end is not known to be
   * stored) is ended `interrupted` first, as a live hand-back: left `running`, the next claim
   * would take it for a run lost with its process (see TurnExecutor.lostTooOften).
   */
  private async handBack(taskId: string, unrun?: BegunRun): Promise<void> {
    if (unrun) {
      const end = runEnd(unrun.startedAt, this.options.clock, 'interrupted');
      await this.options.store.endRun(unrun.runId, end).catch(() => undefined);
    }
    await this.options.store.releaseLease(taskId, this.owner).catch(() => undefined);
  }

  /** Whether an earlier turn of the task is still here: running, or handing its task back. */
  private stillHere(taskId: string): boolean {
    return this.running.has(taskId) || this.ending.has(taskId);
  }

  /**
   * Hands back a turn a claim took but that will not run now. One whose earlier turn is still
   * here (its lease lapsed, the heartbeat came too late, and the claim took the task again) is
   * not let go: that turn is stopped if it runs, and its own end hands the task back once its
   * handler has returned, then claims again (two handlers of one task never run at once).
   */
  private async unclaim(taskId: string, unrun?: BegunRun, how = { owed: false }): Promise<void> {
    if (!this.stillHere(taskId)) {
      return how.owed ? this.handBackOwed(taskId, unrun) : this.handBack(taskId, unrun);
    }
    this.running.get(taskId)?.stop.stop(new TurnStopped('interrupted', "the turn's lease lapsed"));
    this.owedOnceEnded.add(taskId);
    if (unrun) {
      const end = runEnd(unrun.startedAt, this.options.clock, 'interrupted');
      await this.options.store.endRun(unrun.runId, end).catch(() => undefined);
    }
  }

  /** Hands back a turn still owed, and claims at once (here or elsewhere, it runs now). */
  private handBackOwed(taskId: string, unrun?: BegunRun): Promise<void> {
    return this.handBack(taskId, unrun).finally(() => this.poke());
  }

  /** Looks for owed turns at `atMs`, or now if that has passed. */
  private wakeAt(atMs: number): void {
    if (atMs <= this.options.clock().getTime()) this.poke();
    else this.due.at(atMs);
  }

  private launch(task: TaskRecord, run: BegunRun | undefined): TurnStop {
    const stop = new TurnStop();
    const agent = this.options.registry.get(task.assignedAgent);
    // Its handler heard its task end by its signal: no `stopped` hook is owed for that end
    // (unless the agent wants it all the same). Let go of the row now, while the turn is here
    // (a sweep here does not tell it: turnHere) and before its lease goes (then another
    // process's sweep could take it). Recorded now, the delete lands before any later change
    // of the task: a run again and a second end while the handler winds down owe a row of
    // their own, which must stay. The turn's end waits for it before the lease goes.
    let forgetting: Promise<void> | undefined;
    stop.onStop(() => {
      if (!stop.heardTaskEnd || agent?.stoppedAlways) return;
      forgetting = this.options.store.forgetOwedStop(task.taskId).catch((error: unknown) => {
        // Told once more (by the sweep): at least once, as after a crash.
        this.options.logger.warn({ err: error, taskId: task.taskId }, 'owed hook not let go');
      });
    });
    const done = this.executor
      .run(task, agent, stop, run)
      .catch((error: unknown): TurnEnd => {
        this.options.logger.error({ err: error, taskId: task.taskId }, 'turn bookkeeping failed');
        return 'owed'; // its end may not be stored: the turn may be owed still
      })
      .then(async (end) => {
        await forgetting; // committed before the lease goes (another process's sweep)
        this.running.delete(task.taskId);
        this.ending.add(task.taskId);
        const retryAt = this.retriesPlanned.get(task.taskId);
        this.retriesPlanned.delete(task.taskId);
        // Owed again (interrupted): claim it now, not at the next poll. Else a slot is free:
        // claim only if something may be waiting for one, or the task was owed a turn while
        // this one ended (input sent the moment it paused).
        if (end === 'owed') await this.handBackOwed(task.taskId, run);
        else if (end === 'held') await this.handBack(task.taskId);
        this.ending.delete(task.taskId);
        const owedMeanwhile = this.owedOnceEnded.delete(task.taskId);
        if (end !== 'owed') {
          const limited = agent !== undefined && this.agentLimit(agent) !== undefined;
          if (owedMeanwhile) this.poke();
          else if (this.backlog || (this.limitedWaiting && limited)) this.pump.poke();
        }
        // Timed only now: a claim before the lease was let go would not have found it.
        if (retryAt !== undefined) this.wakeAt(retryAt);
      });
    // Claimed just now (or in its create's commit) for leaseMs.
    const leasedUntil = this.options.clock().getTime() + this.options.leaseMs;
    this.running.set(task.taskId, { stop, done, leasedUntil });
    return stop;
  }
}
