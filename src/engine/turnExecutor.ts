/**
 * Runs one claimed turn from start to outcome: marks the task started, records the attempt as
 * a run, calls the agent's handler under its time limit, and turns what happened into one
 * stored result — completed, paused for input, retried later, failed, or left for the next
 * process (shutdown). It only changes a task this process still holds the lease on.
 */
import type { Logger } from 'pino';
import type { AgentDefinition, TurnResult } from '../agents/contract';
import type { MessageRecord, Mutation, RunOutcome, RunWrites, TaskRecord } from '../store/records';
import { LOST_WITH_PROCESS, type RunEnd } from '../store/runRows';
import type { Store } from '../store/store';
import { isWriteOutcomeUnknown } from '../store/writeOutcomeUnknown';
import type { SchemaRegistry } from '../rpc/schemas';
import type { PartLimits } from '../parts/checkParts';
import type { JsonObject } from '../types';
import { type Clock, isoNow } from '../clock';
import { newId } from '../ids';
import * as changes from '../tasks/changes';
import { isTerminal } from '../tasks/states';
import { turnRetryDelayMs } from './retryDelay';
import { type TurnStop, TurnStopped } from './stopReason';
import { runCheckpoint } from './runCheckpoint';
import {
  ContractError,
  type TurnAttempt,
  type TurnState,
  createTurnContext,
  neverRetried,
  runEndAt,
  runEndFrom,
  toAgentMessage,
  withRunEnd,
} from './turnContext';
import { extended } from '../extended';
import {
  LOST_TURNS,
  RETRY_PAST_DEADLINE,
  TASK_DEADLINE_EXCEEDED,
  TASK_EXECUTION_FAILED,
  TASK_TIMEOUT,
} from '../tasks/failureCodes';
import { settledWithin } from './settledWithin';

export interface ExecutorDeps {
  store: Store;
  schemas: SchemaRegistry;
  clock: Clock;
  logger: Logger;
  owner: string;
  /** Attempts at one turn lost with their process in a row after which it is not run again; 0: no limit. */
  lostTurnLimit?: number;
  random?: () => number;
  /** Told when a failed turn's retry is planned for `retryAtMs` (epoch ms). */
  retryPlanned?: (taskId: string, retryAtMs: number) => void;
  /** How long a stopped handler may take to return before its lease goes (ms). */
  shutdownGraceMs?: number;
  /** The limits agents' parts are held to (see TurnDeps). */
  partLimits?: PartLimits;
}

/** How a run begun at `startedAt` ends now. */
export function runEnd(
  startedAt: Date,
  clock: Clock,
  outcome: RunOutcome,
  error?: JsonObject,
): RunEnd {
  return runEndFrom(startedAt, isoNow(clock), outcome, error);
}

/** The run a claim (or a direct start) started for a turn. */
export interface BegunRun {
  runId: string;
  startedAt: Date;
  /** A new task's whole history, known to the one who created it: no reads, no checkpoint. */
  history?: MessageRecord[];
}

/**
 * How a turn ended for its lease: `released` by its end (it completed); `held` by this
 * process, no turn owed now (paused, failed, retried later, canceled); `owed` again now, the
 * lease still held (interrupted: shutdown, or a write of unknown outcome).
 */
export type TurnEnd = 'released' | 'held' | 'owed';

interface Failure {
  code: number;
  message: string;
  outcome: RunOutcome;
}

function isPromiseLike<T>(value: T | PromiseLike<T>): value is PromiseLike<T> {
  return typeof (value as { then?: unknown } | null | undefined)?.then === 'function';
}

/** Records how the turn's run ended. */
type FinishRun = (outcome: RunOutcome, error?: JsonObject) => Promise<void>;
/** The run's end as a change carries it (RunWrites.end), made at `at`. */
type RunEndAt = (
  at: string,
  outcome: RunOutcome,
  error?: JsonObject,
) => NonNullable<RunWrites['end']>;

/** The handler's promise, or the turn's stop (timeout, cancel, shutdown) if that comes first. */
function untilStopped<T>(handled: PromiseLike<T>, stop: TurnStop): Promise<T> {
  const stopped = new Promise<never>((_resolve, reject) => stop.onStop(reject));
  stopped.catch(() => undefined);
  return Promise.race([Promise.resolve(handled), stopped]);
}

/** A turn's successful end as one change: its reply (if any), COMPLETED, the run's end, no lease. */
function completion(
  task: TaskRecord,
  at: string,
  reply: Omit<MessageRecord, 'seq'> | undefined,
  end: NonNullable<RunWrites['end']>,
): Mutation {
  const replied = reply ? changes.messageAdded(task, reply, at) : undefined;
  const done = changes.completed(
    replied ? extended(task, { messageCount: task.messageCount + 1 }) : task,
    at,
  );
  const both = replied ? changes.combined(replied, done) : done;
  return extended(both, {
    patch: extended(both.patch, { leaseOwner: null, leaseUntil: null }),
    run: { end },
  });
}

/**
 * What a handler threw, as text: an Error's message, a plain object's `message`, else the
 * value as a string; never itself a throw (a value without a string form, a getter that
 * throws), which would leave the turn's end unwritten and the turn run again for ever.
 */
function describeThrown(error: unknown): string {
  try {
    const message = (error as { message?: unknown } | null | undefined)?.message;
    if (typeof message === 'string') return message;
    return error instanceof Error ? '' : String(error);
  } catch {
    return 'handler threw a value with no text (not an Error)';
  }
}

/**
 * How a run ended whose last write was refused (the task no longer WORKING under this
 * process's lease): as whatever ended the task meanwhile, else `interrupted` (its lease
 * lost: the turn is another process's now, or owed again).
 */
function refusedOutcome(task: TaskRecord | undefined): RunOutcome {
  if (task?.status === 'CANCELED') return 'canceled';
  if (task?.status === 'FAILED') {
    return task.error?.code === TASK_DEADLINE_EXCEEDED ? 'deadline-exceeded' : 'failed';
  }
  return 'interrupted';
}

/**
 * The handler returned, but its end could not be stored (the file busy past its timeout, say):
 * the store's failure, not the handler's. The turn is taken as cut, as by a crash: a pause
 * stays (its commit came first), a completion not written runs again.
 */
class EndNotStored extends Error {
  constructor(cause: unknown) {
    super(`the turn's end could not be stored: ${(cause as Error).message}`, { cause });
  }
}

/** Rethrows a store's own failure (an SQLite error) as EndNotStored; anything else as it is. */
function notStored(error: unknown): never {
  const code = (error as { code?: unknown } | undefined)?.code;
  throw typeof code === 'string' && code.startsWith('SQLITE_') ? new EndNotStored(error) : error;
}

export class TurnExecutor {
  constructor(private readonly deps: ExecutorDeps) {}

  /**
   * Applies a change only if this process still holds the task (`known`: as last seen):
   * whether it was written, and the task as it is after.
   */
  private async applyHeld(
    taskId: string,
    plan: (task: TaskRecord, at: string) => Mutation | null,
    known?: TaskRecord,
  ): Promise<{ written: boolean; task: TaskRecord | undefined }> {
    const at = isoNow(this.deps.clock);
    let written = false;
    const applied = await this.deps.store.mutateTask(
      taskId,
      (current) => {
        const mutation = current.leaseOwner === this.deps.owner ? plan(current, at) : null;
        written = mutation !== null; // as the last plan decided (a re-planned write runs it again)
        return mutation;
      },
      known,
    );
    return { written, task: applied?.task };
  }

  async failTask(taskId: string, code: number, reason: string, more: JsonObject = {}) {
    return this.applyHeld(taskId, (current, at) =>
      isTerminal(current.status)
        ? null
        : changes.failed(current, extended(more, { code, message: reason }), at),
    );
  }

  /**
   * What a claim does to each task it leases, in the claim's own transaction: the task starts
   * (or starts another attempt), runs a crash left `running` become `interrupted`, and this
   * attempt's run is recorded. `begun` learns each run's id. Tasks `runsHere` refuses (an
   * agent not hosted here, a turn of the task still here) or no longer owing a turn are left
   * as they are.
   */
  beginPlan(runsHere: (task: TaskRecord) => boolean, begun: Map<string, BegunRun>) {
    return (current: TaskRecord, at: string): Mutation | null => {
      if (!runsHere(current)) return null;
      const change =
        current.status === 'SUBMITTED'
          ? changes.started(current, at)
          : current.status === 'WORKING'
            ? changes.attemptStarted(current, at)
            : null;
      if (!change) return null;
      const run = { runId: newId('run'), startedAt: new Date(at) };
      begun.set(current.taskId, run);
      return extended(change, {
        run: {
          interruptRunning: true,
          start: {
            runId: run.runId,
            taskId: current.taskId,
            attempt: current.attempt + 1,
            owner: this.deps.owner,
            startedAt: at,
          },
        },
      });
    };
  }

  /** Runs a claimed turn that `beginPlan` started (`run`), or fails a task no agent here runs. */
  async run(
    task: TaskRecord,
    agent: AgentDefinition | undefined,
    stop: TurnStop,
    run: BegunRun | undefined,
  ): Promise<TurnEnd> {
    const { store, clock } = this.deps;
    if (!agent) {
      await this.failTask(
        task.taskId,
        TASK_EXECUTION_FAILED,
        `agent ${task.assignedAgent} is not hosted here`,
      );
      return 'held';
    }
    if (!run || task.status !== 'WORKING') return 'held';
    const { runId, startedAt } = run;
    const finishRun = (outcome: RunOutcome, error?: JsonObject) =>
      store.endRun(runId, runEnd(startedAt, clock, outcome, error));
    const endAt: RunEndAt = (at, outcome, error) => runEndAt(run, at, outcome, error);

    if (await this.lostTooOften(task)) {
      const message = `the process running this turn stopped ${this.deps.lostTurnLimit} times in a row (its handler may be what stops it): not run again`;
      // Marked, so that its agent's `stopped` hook is owed (cause `lost`): no handler runs for
      // it again to let go of what it holds elsewhere.
      const lost = { [LOST_TURNS]: this.deps.lostTurnLimit ?? 0 };
      await this.failTask(task.taskId, TASK_EXECUTION_FAILED, message, lost);
      await finishRun('failed', { code: TASK_EXECUTION_FAILED, message });
      return 'held';
    }

    const memory = agent.needsCheckpoints === true || task.settings?.enableMemory !== false;
    const checkpoint = memory && !run.history ? await runCheckpoint(store, task) : undefined;
    const state: TurnState = { paused: false, finished: false, latest: task };
    const timeoutMs = task.settings?.timeoutMs ?? agent.limits?.timeoutMs;
    let timer: NodeJS.Timeout | undefined;
    let handling: PromiseLike<unknown> | undefined;
    try {
      const attempt: TurnAttempt = { attempt: task.attempt, runId, startedAt };
      if (checkpoint) attempt.lastCheckpoint = checkpoint.data;
      const messages = run.history ?? (await store.listMessages(task.taskId));
      const ctx = createTurnContext(this.deps, task, stop, state, attempt, messages);
      if (timeoutMs !== undefined) {
        timer = setTimeout(
          () => stop.stop(new TurnStopped('timeout', `turn timed out after ${timeoutMs} ms`)),
          timeoutMs,
        );
      }
      const returned = agent.handle(ctx);
      if (isPromiseLike(returned)) handling = returned;
      // A handler that answered at once (echo) cannot have been stopped midway: its result is
      // used as it is, without the race's promises; a promise races the turn's stop.
      const result: TurnResult = isPromiseLike(returned)
        ? await untilStopped(returned, stop)
        : returned;
      clearTimeout(timer);
      state.finished = true;
      stop.handlerDone();
      // Nothing to say: undefined, null (a JS handler's "no reply"), or '' (an empty model
      // output): no message, which a TextPart could not hold anyway.
      const said = result === undefined || result === null || result === '' ? undefined : result;
      if (state.paused) {
        if (said !== undefined) {
          // A reply after asking, returned rather than sent with ctx.reply: the same breach.
          throw new ContractError('the turn asked for input: it must return nothing');
        }
        await finishRun('input-required').catch(notStored);
        return 'held';
      }
      const reply = said === undefined ? undefined : toAgentMessage(this.deps, agent.id, said);
      // One transaction: the final reply, COMPLETED, the run's end and the lease let go.
      const completed = await this.applyHeld(
        task.taskId,
        (current, at) =>
          current.status !== 'WORKING'
            ? null
            : completion(current, at, reply, endAt(at, 'completed')),
        state.latest,
      ).catch(notStored);
      if (completed.written) return 'released';
      // Canceled, expired or taken over between the handler's return and its completion.
      await finishRun(refusedOutcome(completed.task));
      return 'held';
    } catch (error) {
      clearTimeout(timer);
      state.finished = true;
      stop.handlerDone();
      try {
        return state.paused
          ? await this.afterPause(task, error, stop, finishRun)
          : await this.afterFailure(task, error, stop, finishRun, endAt);
      } finally {
        if (handling && stop.reason) {
          // Stopped (a shutdown, a cancel, a timeout, its turn taken), the turn's end written
          // (or failing to be): its lease goes once this returns, and the turn may then run
          // again, here or elsewhere. The handler first has the grace to wind down: two
          // handlers of one task never run at once (one ignoring its signal holds its slot).
          await settledWithin(handling, this.deps.shutdownGraceMs ?? 0);
        }
      }
    }
  }

  private classify(error: unknown, stop: TurnStop): Failure | RunOutcome {
    const kind = stop.reason?.kind;
    if (kind === 'canceled') return 'canceled';
    // Shutdown, or a write of this turn that may or may not have committed: like a crash, the
    // turn runs again.
    if (
      kind === 'shutdown' ||
      kind === 'interrupted' ||
      isWriteOutcomeUnknown(error) ||
      error instanceof EndNotStored
    ) {
      return 'interrupted';
    }
    if (kind === 'deadline') return 'deadline-exceeded';
    if (kind === 'timeout') {
      return { code: TASK_TIMEOUT, message: (stop.reason as Error).message, outcome: 'timed-out' };
    }
    const message = describeThrown(error);
    const prefix = error instanceof ContractError ? 'agent broke the contract: ' : '';
    return {
      code: TASK_EXECUTION_FAILED,
      message: `${prefix}${message || 'handler threw'}`,
      outcome: 'failed',
    };
  }

  /**
   * Whether the `lostTurnLimit` attempts at this turn before this one were all lost with
   * their process (a crash, a kill; not a graceful shutdown): a turn whose handler takes its
   * process down would otherwise be run again, and take it down, on every start forever.
   */
  private async lostTooOften(task: TaskRecord): Promise<boolean> {
    const limit = this.deps.lostTurnLimit ?? 0;
    if (limit === 0 || task.attempt <= limit) return false;
    const before = (await this.turnRuns(task)).slice(0, -1).slice(-limit);
    return (
      before.length === limit &&
      before.every(
        (r) => r.outcome === 'interrupted' && r.error?.message === LOST_WITH_PROCESS.message,
      )
    );
  }

  /**
   * The attempts at this turn that failed, this one included. An attempt a crash or shutdown
   * interrupted is not the handler's failure and uses up none of `maxRetries`: the turn's
   * attempts are its task's last `attempt` runs, and those `interrupted` are left out.
   */
  private async failedAttempts(task: TaskRecord): Promise<number> {
    if (task.attempt <= 1) return task.attempt;
    const runs = await this.turnRuns(task);
    return task.attempt - runs.filter((run) => run.outcome === 'interrupted').length;
  }

  /** The runs of the task's current turn, this attempt's last: its last `attempt` runs. */
  private async turnRuns(task: TaskRecord) {
    return (await this.deps.store.listRuns(task.taskId)).slice(-task.attempt);
  }

  /** Logs the handler's failure; the error its run (and task) record. */
  private handlerFailed(task: TaskRecord, error: unknown, failure: Failure, what: string) {
    const { taskId, attempt } = task;
    try {
      this.deps.logger.warn({ err: error, taskId, attempt }, what);
    } catch {
      // A thrown value the logger cannot serialize (a getter that throws): its description.
      this.deps.logger.warn({ thrown: failure.message, taskId, attempt }, what);
    }
    return { code: failure.code, message: failure.message };
  }

  /**
   * The handler failed (or was stopped) after its requestInput committed. A stop keeps the
   * pause (a shutdown has nothing to run again) unless it ended the task; a failure breaks the
   * contract and fails the task while it still waits for that input, never retried (the pause
   * is committed), and leaves it alone once answered (the failure must not hit the next turn).
   */
  private async afterPause(
    task: TaskRecord,
    error: unknown,
    stop: TurnStop,
    finishRun: FinishRun,
  ): Promise<TurnEnd> {
    const failure = this.classify(error, stop);
    if (typeof failure === 'string') {
      await finishRun(failure === 'interrupted' ? 'input-required' : failure);
      return 'held';
    }
    const errorObject = this.handlerFailed(
      task,
      error,
      failure,
      'turn failed after asking for input',
    );
    await this.applyHeld(task.taskId, (current, at) =>
      current.status === 'INPUT_REQUIRED' ? changes.failed(current, errorObject, at) : null,
    );
    await finishRun(failure.outcome, errorObject);
    return 'held';
  }

  private async afterFailure(
    task: TaskRecord,
    error: unknown,
    stop: TurnStop,
    finishRun: FinishRun,
    endAt: RunEndAt,
  ): Promise<TurnEnd> {
    const failure = this.classify(error, stop);
    if (typeof failure === 'string') {
      await finishRun(failure); // decided by the stop (or the store), not by the handler
      return failure === 'interrupted' ? 'owed' : 'held';
    }
    const errorObject = this.handlerFailed(task, error, failure, 'turn attempt failed');
    const maxRetries = neverRetried(error) ? 0 : (task.settings?.maxRetries ?? 0);
    const failures = await this.failedAttempts(task);
    const retryAt =
      failures <= maxRetries
        ? this.deps.clock().getTime() +
          turnRetryDelayMs(failures, task.settings?.retryDelayMs, this.deps.random)
        : undefined;
    const { code, message } = failure;
    let retrying = false;
    // The retry and the run's end in one transaction: a crash between two writes left the
    // run `running`, to be closed as `interrupted`, which does not count as a failed attempt.
    // A retry due only at or past the task's deadline is not planned: the task fails now,
    // with the handler's own error, not later by its deadline.
    const ended = await this.applyHeld(task.taskId, (current, at) => {
      retrying =
        retryAt !== undefined &&
        current.status === 'WORKING' &&
        (current.deadline === undefined || retryAt < Date.parse(current.deadline));
      if (retrying) {
        const outcome = failure.outcome === 'timed-out' ? 'timed-out' : 'retrying';
        return withRunEnd(
          changes.retryLater(current, at, retryAt as number, errorObject),
          endAt(at, outcome, errorObject),
        );
      }
      if (isTerminal(current.status) || (retryAt !== undefined && current.status !== 'WORKING')) {
        return null;
      }
      // A retry the deadline stopped: marked, so that the agent's `stopped` hook is owed (the
      // handler, told of a failure its settings retry, may hold on to work for that retry).
      const error: changes.TaskFailure = { code, message };
      if (retryAt !== undefined && current.deadline !== undefined) {
        error[RETRY_PAST_DEADLINE] = current.deadline;
      }
      return withRunEnd(
        changes.failed(current, error, at),
        endAt(at, failure.outcome, errorObject),
      );
    });
    if (ended.written && retrying) this.deps.retryPlanned?.(task.taskId, retryAt as number);
    if (!ended.written) await finishRun(refusedOutcome(ended.task), errorObject);
    return 'held';
  }
}
