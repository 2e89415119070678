/**
 * Triggers: secret URLs that create tasks. Only a hash of each URL's token is kept. A firing
 * writes the task, the trigger's counters and (with a request key) the key → task record in
 * one transaction, so a sender's redelivery finds the task its first delivery made.
 */
import type { Db } from './openDatabase';
import type { TaskSettings } from './records';
import type { JsonObject, Priority } from '../types';
import { compact, fromJson, optional, toJson } from './rowMapping';

export interface TriggerRecord {
  triggerId: string;
  tokenHash: string;
  ownerAgent: string;
  targetAgent: string;
  /** Defaults of the DataPart; the POSTed JSON is merged over them. */
  input?: JsonObject;
  /** A TextPart sent before the data, if given. */
  text?: string;
  priority: Priority;
  settings?: TaskSettings;
  metadata?: JsonObject;
  /** Standard Webhooks secret when inbound requests must be signed. */
  signingSecret?: string;
  fireCount: number;
  lastFiredAt?: string;
  createdAt: string;
}

interface TriggerRow {
  trigger_id: string;
  token_hash: string;
  owner_agent: string;
  target_agent: string;
  input: string | null;
  text: string | null;
  priority: string;
  settings: string | null;
  metadata: string | null;
  signing_secret: string | null;
  fire_count: number;
  last_fired_at: string | null;
  created_at: string;
}

function fromTriggerRow(row: TriggerRow): TriggerRecord {
  return compact({
    triggerId: row.trigger_id,
    tokenHash: row.token_hash,
    ownerAgent: row.owner_agent,
    targetAgent: row.target_agent,
    input: fromJson(row.input),
    text: optional(row.text),
    priority: row.priority as Priority,
    settings: fromJson<TaskSettings>(row.settings),
    metadata: fromJson(row.metadata),
    signingSecret: optional(row.signing_secret),
    fireCount: row.fire_count,
    lastFiredAt: optional(row.last_fired_at),
    createdAt: row.created_at,
  });
}

export class TriggerTable {
  private readonly insertOne;
  private readonly byId;
  private readonly byHash;
  private readonly byOwner;
  private readonly deleteOne;
  private readonly firedBefore;
  private readonly recordFire;
  private readonly bump;
  private readonly forgetOld;

  constructor(db: Db) {
    this.insertOne = db.prepare(`INSERT INTO triggers (trigger_id, token_hash, owner_agent,
      target_agent, input, text, priority, settings, metadata, signing_secret, created_at)
      VALUES (@trigger_id, @token_hash, @owner_agent, @target_agent, @input, @text, @priority,
      @settings, @metadata, @signing_secret, @created_at)`);
    this.byId = db.prepare<[string], TriggerRow>('SELECT * FROM triggers WHERE trigger_id = ?');
    this.byHash = db.prepare<[string], TriggerRow>('SELECT * FROM triggers WHERE token_hash = ?');
    this.byOwner = db.prepare<[string], TriggerRow>(
      'SELECT * FROM triggers WHERE owner_agent = ? ORDER BY created_at, trigger_id',
    );
    this.deleteOne = db.prepare<[string]>('DELETE FROM triggers WHERE trigger_id = ?');
    this.firedBefore = db.prepare<[string, string], { task_id: string }>(
      'SELECT task_id FROM trigger_fires WHERE trigger_id = ? AND fire_key = ?',
    );
    this.recordFire = db.prepare(
      'INSERT INTO trigger_fires (trigger_id, fire_key, task_id, fired_at) VALUES (?, ?, ?, ?)',
    );
    // Bounded like every purge batch; read off trigger_fires_gone (only the gone ones).
    this.forgetOld = db.prepare<[string, number]>(
      `DELETE FROM trigger_fires WHERE (trigger_id, fire_key) IN (
        SELECT trigger_id, fire_key FROM trigger_fires WHERE task_gone = 1 AND fired_at < ?
          LIMIT ?)`,
    );
    this.bump = db.prepare(
      'UPDATE triggers SET fire_count = fire_count + 1, last_fired_at = ? WHERE trigger_id = ?',
    );
  }

  insert(t: TriggerRecord): void {
    this.insertOne.run({
      trigger_id: t.triggerId,
      token_hash: t.tokenHash,
      owner_agent: t.ownerAgent,
      target_agent: t.targetAgent,
      input: toJson(t.input),
      text: t.text ?? null,
      priority: t.priority,
      settings: toJson(t.settings),
      metadata: toJson(t.metadata),
      signing_secret: t.signingSecret ?? null,
      created_at: t.createdAt,
    });
  }

  get(triggerId: string): TriggerRecord | undefined {
    const row = this.byId.get(triggerId);
    return row ? fromTriggerRow(row) : undefined;
  }

  withTokenHash(tokenHash: string): TriggerRecord | undefined {
    const row = this.byHash.get(tokenHash);
    return row ? fromTriggerRow(row) : undefined;
  }

  owned(owner: string): TriggerRecord[] {
    return this.byOwner.all(owner).map(fromTriggerRow);
  }

  delete(triggerId: string): boolean {
    return this.deleteOne.run(triggerId).changes > 0;
  }

  /** The task an earlier firing with this request key made, if any. */
  taskForKey(triggerId: string, fireKey: string): string | undefined {
    return this.firedBefore.get(triggerId, fireKey)?.task_id;
  }

  /**
   * Forgets up to `limit` request keys fired before `beforeIso` whose tasks are gone (marked
   * so by migration 0022's SQL trigger; a key stays while its task does); how many went.
   */
  forgetKeys(beforeIso: string, limit: number): number {
    return this.forgetOld.run(beforeIso, limit).changes;
  }

  markFired(triggerId: string, fireKey: string | undefined, taskId: string, at: string): void {
    if (fireKey !== undefined) this.recordFire.run(triggerId, fireKey, taskId, at);
    this.bump.run(at, triggerId);
  }
}
