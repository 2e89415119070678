/**
 * The ARC codes a failed task's stored `error` carries (arc-protocol.md's task errors): set
 * where a task fails, and read back where a failure's cause matters (a deadline's stop).
 */

/** The handler threw, or the task could not go on (its children, its input). */
export const TASK_EXECUTION_FAILED = -42004;
/** The handler's turn ran past its timeout. */
export const TASK_TIMEOUT = -42005;
/**
 * Set on a failure's `error` when the processes running the task's turn kept stopping
 * (`--lost-turn-limit`): how many turns were lost in a row. Its code is TASK_EXECUTION_FAILED.
 */
export const LOST_TURNS = 'lostTurns';
/**
 * Set on a handler's failure when a retry its settings allowed would have come only at or past
 * the task's deadline (the deadline, then): the deadline ended it, as its agent's `stopped`
 * hook is told (cause `deadline`).
 */
export const RETRY_PAST_DEADLINE = 'retryPastDeadline';
/** The task's deadline passed before it finished. */
export const TASK_DEADLINE_EXCEEDED = -42011;
