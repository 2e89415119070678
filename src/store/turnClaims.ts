/**
 * Which owed turns a claim leases (inside the store's transaction). Without per-agent limits:
 * the most urgent, oldest owed turns straight off the tasks_runnable index. With limits: per
 * hosted agent, as many as its limit leaves room for (leases of every process on the file
 * counted), each agent's candidates read off tasks_runnable_by_agent, then the most urgent of
 * them all. Either way a claim reads a bounded number of rows, however many tasks wait.
 */
import type { Db } from './openDatabase';
import type { AgentLimits } from './records';
import type { TaskRow } from './taskRows';

interface Candidate {
  task_id: string;
  priority_rank: number;
  created_at: string;
}

export interface ClaimRequest {
  owner: string;
  limit: number;
  nowMs: number;
  leaseMs: number;
  agents: AgentLimits;
}

const OWED = `pending_turn = 1 AND (lease_until IS NULL OR lease_until < @nowMs)
  AND (next_attempt_at IS NULL OR next_attempt_at <= @nowMs)`;

export class TurnClaims {
  private readonly unlimited;
  private readonly busy;
  private readonly candidates;
  private readonly lease;

  constructor(db: Db) {
    this.unlimited = db.prepare<
      [{ owner: string; until: number; nowMs: number; limit: number }],
      TaskRow
    >(`
      UPDATE tasks SET lease_owner = @owner, lease_until = @until
      WHERE task_id IN (SELECT task_id FROM tasks WHERE ${OWED}
                        ORDER BY priority_rank DESC, created_at, task_id LIMIT @limit)
      RETURNING *`);
    this.busy = db.prepare<[{ nowMs: number }], { assigned_agent: string; n: number }>(`
      SELECT assigned_agent, COUNT(*) AS n FROM tasks
      WHERE lease_owner IS NOT NULL AND lease_until >= @nowMs GROUP BY assigned_agent`);
    this.candidates = db.prepare<[{ agent: string; nowMs: number; room: number }], Candidate>(`
      SELECT task_id, priority_rank, created_at FROM tasks
      WHERE assigned_agent = @agent AND ${OWED}
      ORDER BY priority_rank DESC, created_at, task_id LIMIT @room`);
    this.lease = db.prepare<[{ owner: string; until: number; taskId: string }], TaskRow>(
      'UPDATE tasks SET lease_owner = @owner, lease_until = @until WHERE task_id = @taskId RETURNING *',
    );
  }

  /** Leases and returns the rows; must run inside a transaction. */
  claim(request: ClaimRequest): TaskRow[] {
    const { owner, limit, nowMs, leaseMs, agents } = request;
    const until = nowMs + leaseMs;
    if (Object.keys(agents.limits).length === 0) {
      return this.unlimited.all({ owner, until, nowMs, limit });
    }
    const busy = new Map(this.busy.all({ nowMs }).map((row) => [row.assigned_agent, row.n]));
    const chosen = agents.hosted
      .flatMap((agent) => {
        const room = Math.min(
          limit,
          (agents.limits[agent] ?? agents.defaultLimit) - (busy.get(agent) ?? 0),
        );
        return room > 0 ? this.candidates.all({ agent, nowMs, room }) : [];
      })
      .sort(
        (a, b) =>
          b.priority_rank - a.priority_rank ||
          a.created_at.localeCompare(b.created_at) ||
          a.task_id.localeCompare(b.task_id),
      )
      .slice(0, limit);
    return chosen.flatMap((c) => this.lease.all({ owner, until, taskId: c.task_id }));
  }
}
