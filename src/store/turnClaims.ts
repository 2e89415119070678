/**
 * Which owed turns a claim takes (inside the store's transaction, which then leases each one
 * in the same UPDATE that starts its turn): only turns of the agents this process hosts, so
 * processes on one file that host different agents never take (and fail) each other's tasks.
 * Per hosted agent, as many as its limit leaves room for (leases of every process on the file
 * counted; with no limits in play, up to the claim's limit), each agent's candidates read off
 * tasks_runnable_by_agent, then the most urgent of them all. A claim reads a bounded number of
 * rows, however many tasks wait.
 */
import type { Db } from './openDatabase';
import type { AgentLimits, TaskRecord } from './records';
import type { TaskRow } from './taskRows';

export interface ClaimRequest {
  limit: number;
  nowMs: number;
  agents: AgentLimits;
}

const OWED = `pending_turn = 1 AND (lease_until IS NULL OR lease_until < @nowMs)
  AND (next_attempt_at IS NULL OR next_attempt_at <= @nowMs)`;

/** OWED for a task as a batch not yet committed may have left it (a claim's candidate). */
export function isOwed(task: TaskRecord, nowMs: number): boolean {
  return (
    task.pendingTurn &&
    (task.leaseUntil === undefined || task.leaseUntil < nowMs) &&
    (task.nextAttemptAt === undefined || task.nextAttemptAt <= nowMs)
  );
}

export class TurnClaims {
  private readonly busy;
  private readonly candidates;

  constructor(db: Db) {
    this.busy = db.prepare<[{ nowMs: number }], { assigned_agent: string; n: number }>(`
      SELECT assigned_agent, COUNT(*) AS n FROM tasks
      WHERE lease_owner IS NOT NULL AND lease_until >= @nowMs GROUP BY assigned_agent`);
    this.candidates = db.prepare<[{ agent: string; nowMs: number; room: number }], TaskRow>(`
      SELECT * FROM tasks WHERE assigned_agent = @agent AND ${OWED}
      ORDER BY priority_rank DESC, created_at, task_id LIMIT @room`);
  }

  /** The rows to lease, most urgent first; must run inside the transaction that leases them. */
  choose(request: ClaimRequest): TaskRow[] {
    const { limit, nowMs, agents } = request;
    // Leases are counted only when some agent has a limit of its own, and only against that
    // limit: an agent without one may take every slot free here (`limit`), whatever other
    // processes on the file run of it.
    const busy =
      Object.keys(agents.limits).length > 0
        ? new Map(this.busy.all({ nowMs }).map((row) => [row.assigned_agent, row.n]))
        : undefined;
    const roomOf = (agent: string) => {
      const own = agents.limits[agent];
      return busy && own !== undefined ? Math.min(limit, own - (busy.get(agent) ?? 0)) : limit;
    };
    return agents.hosted
      .flatMap((agent) => {
        const room = roomOf(agent);
        return room > 0 ? this.candidates.all({ agent, nowMs, room }) : [];
      })
      .sort(
        (a, b) =>
          b.priority_rank - a.priority_rank ||
          a.created_at.localeCompare(b.created_at) ||
          a.task_id.localeCompare(b.task_id),
      )
      .slice(0, limit);
  }
}
