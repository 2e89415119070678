/**
 * A task's history rows: messages, artifacts and the event log, with their mappings.
 * Rows are append-only; their order is the task's per-task sequence number. Large file
 * contents go through BlobTable (stored once, outside these rows).
 */
import type { Db } from './openDatabase';
import type { ArtifactRecord, EventHead, EventRecord, MessageRecord } from './records';
import type { EventType, JsonObject, JsonValue, Part, Role } from '../types';
import { compact, fromJson, optional, toJson } from './rowMapping';
import type { BlobTable } from './blobRows';
import type { WriteRecorder } from './writeRecorder';
import { jsonStringBytes, jsonTextBytes } from './jsonBytes';

/** Bytes counted: what a read's rows take in the answer's JSON (jsonBytes.ts), files included. */
interface Size {
  bytes: number;
}

/**
 * How many bytes of answer a read may still take (it counts down): a read that would take
 * more throws HistoryOverBudget, having held no more than the budget and one row.
 */
export interface HistoryBudget {
  bytes: number;
}

export class HistoryOverBudget extends Error {
  constructor() {
    super("the task's history is larger than the read's budget");
  }
}

interface MessageRow {
  message_id: string;
  task_id: string;
  seq: number;
  role: string;
  parts: string;
  agent_id: string | null;
  timestamp: string;
}

interface ArtifactRow {
  artifact_id: string;
  task_id: string;
  seq: number;
  name: string;
  description: string | null;
  parts: string;
  created_by: string | null;
  version: string | null;
  metadata: string | null;
  created_at: string;
}

interface EventRow {
  task_id: string;
  seq: number;
  event_id: string;
  type: string;
  data: string;
  created_at: string;
}

/** Columns holding JSON text, stored as it is written out. */
const JSON_COLUMNS = new Set(['parts', 'metadata', 'data']);

/** The bytes a history row's text takes in an answer (its files not yet put back). */
function rowBytes(row: object): number {
  let bytes = 0;
  for (const [column, value] of Object.entries(row)) {
    if (typeof value !== 'string') continue;
    bytes += JSON_COLUMNS.has(column) ? jsonTextBytes(value) : jsonStringBytes(value);
  }
  return bytes;
}

function fromMessageRow(row: MessageRow, blobs: BlobTable, size?: Size): MessageRecord {
  return compact({
    messageId: row.message_id,
    seq: row.seq,
    role: row.role as Role,
    parts: blobs.inflate<Part[]>(row.task_id, row.parts, size),
    agentId: optional(row.agent_id),
    timestamp: row.timestamp,
  });
}

function fromArtifactRow(row: ArtifactRow, blobs: BlobTable, size?: Size): ArtifactRecord {
  return compact({
    artifactId: row.artifact_id,
    seq: row.seq,
    name: row.name,
    description: optional(row.description),
    parts: blobs.inflate<Part[]>(row.task_id, row.parts, size),
    createdBy: optional(row.created_by),
    version: optional(row.version),
    metadata: fromJson(row.metadata),
    createdAt: row.created_at,
  });
}

function fromEventRow(row: EventRow, blobs: BlobTable, size?: Size): EventRecord {
  return {
    taskId: row.task_id,
    seq: row.seq,
    eventId: row.event_id,
    type: row.type as EventType,
    data: blobs.inflate<JsonObject>(row.task_id, row.data, size),
    createdAt: row.created_at,
  };
}

/** Events' heads read at once by eventHeads. */
const HEADS_PAGE = 1_000;

interface EventHeadRow {
  task_id: string;
  seq: number;
  type: string;
  created_at: string;
  child: JsonValue | null;
}

export class HistoryTables {
  private readonly insertMessage;
  private readonly insertArtifact;
  private readonly insertEvent;
  private readonly selectMessages;
  private readonly selectArtifacts;
  private readonly selectEvents;
  private readonly selectEventHeads;
  private readonly selectLastOwn;
  private readonly selectArtifactIdsSince;

  constructor(
    db: Db,
    private readonly blobs: BlobTable,
    recorder: WriteRecorder,
  ) {
    this.insertMessage = recorder.statement(
      db,
      `INSERT INTO messages (message_id, task_id, seq, role, parts, agent_id, timestamp)
      VALUES (?, ?, ?, ?, ?, ?, ?)`,
    );
    this.insertArtifact = recorder.statement(
      db,
      `INSERT INTO artifacts (artifact_id, task_id, seq, name,
      description, parts, created_by, version, metadata, created_at)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.insertEvent = recorder.statement(
      db,
      `INSERT INTO events (task_id, seq, event_id, type, data, created_at)
      VALUES (?, ?, ?, ?, ?, ?)`,
    );
    this.selectMessages = db.prepare<[string], MessageRow>(
      'SELECT * FROM messages WHERE task_id = ? ORDER BY seq',
    );
    this.selectArtifacts = db.prepare<[string], ArtifactRow>(
      'SELECT * FROM artifacts WHERE task_id = ? ORDER BY seq',
    );
    this.selectEvents = db.prepare<[string, number, number], EventRow>(
      'SELECT * FROM events WHERE task_id = ? AND seq > ? ORDER BY seq LIMIT ?',
    );
    this.selectEventHeads = db.prepare<[string, number, number], EventHeadRow>(
      `SELECT task_id, seq, type, created_at, json_extract(data, '$.childTaskId') AS child
        FROM events WHERE task_id = ? AND seq > ? ORDER BY seq LIMIT ?`,
    );
    this.selectArtifactIdsSince = db.prepare<[string, string], { artifact_id: string }>(
      'SELECT artifact_id FROM artifacts WHERE task_id = ? AND created_at >= ? ORDER BY seq',
    );
    // Newest first: the one looked for is usually among the last (a cancel just made).
    this.selectLastOwn = db.prepare<[string, string], EventRow>(
      `SELECT * FROM events WHERE task_id = ? AND type = ?
        AND json_extract(data, '$.childTaskId') IS NULL ORDER BY seq DESC LIMIT 1`,
    );
  }

  addMessage(taskId: string, message: MessageRecord): void {
    this.insertMessage.run(
      message.messageId,
      taskId,
      message.seq,
      message.role,
      this.blobs.deflate(taskId, message.parts),
      message.agentId ?? null,
      message.timestamp,
    );
  }

  addArtifact(taskId: string, artifact: ArtifactRecord): void {
    this.insertArtifact.run(
      artifact.artifactId,
      taskId,
      artifact.seq,
      artifact.name,
      artifact.description ?? null,
      this.blobs.deflate(taskId, artifact.parts),
      artifact.createdBy ?? null,
      artifact.version ?? null,
      toJson(artifact.metadata),
      artifact.createdAt,
    );
  }

  /** Returns the length of the event's data as JSON (before any blob swap). */
  addEvent(event: EventRecord): number {
    const text = JSON.stringify(event.data);
    this.insertEvent.run(
      event.taskId,
      event.seq,
      event.eventId,
      event.type,
      this.blobs.stored(event.taskId, event.data, text),
      event.createdAt,
    );
    return text.length;
  }

  messages(taskId: string, budget?: HistoryBudget): MessageRecord[] {
    if (!budget)
      return this.selectMessages.all(taskId).map((row) => fromMessageRow(row, this.blobs));
    return this.withinBudget(this.selectMessages, taskId, budget, fromMessageRow);
  }

  artifacts(taskId: string, budget?: HistoryBudget): ArtifactRecord[] {
    if (!budget) {
      return this.selectArtifacts.all(taskId).map((row) => fromArtifactRow(row, this.blobs));
    }
    return this.withinBudget(this.selectArtifacts, taskId, budget, fromArtifactRow);
  }

  /**
   * A task's rows read one at a time, their text then the files put back counted against
   * `budget`: none of them if they come to more (HistoryOverBudget).
   */
  private withinBudget<Row extends object, T>(
    statement: { iterate(taskId: string): IterableIterator<Row> },
    taskId: string,
    budget: HistoryBudget,
    map: (row: Row, blobs: BlobTable, size: Size) => T,
  ): T[] {
    const spend = (bytes: number) => {
      budget.bytes -= bytes;
      if (budget.bytes < 0) throw new HistoryOverBudget();
    };
    const rows: Row[] = [];
    // Leaving the loop by a throw ends the statement's iteration (it is reset).
    for (const row of statement.iterate(taskId)) {
      spend(rowBytes(row));
      rows.push(row);
    }
    // Files are read only now: no other statement may run while one is being iterated.
    return rows.map((row) => {
      const size = { bytes: 0 };
      const record = map(row, this.blobs, size);
      spend(size.bytes);
      return record;
    });
  }

  /** The ids of the task's artifacts created at `since` or later (their parts not read). */
  artifactIdsSince(taskId: string, since: string): string[] {
    return this.selectArtifactIdsSince.all(taskId, since).map((row) => row.artifact_id);
  }

  /** The task's last event of `type` that is its own (a child's mirrored one is not). */
  lastOwnEvent(taskId: string, type: EventType): EventRecord | undefined {
    const row = this.selectLastOwn.get(taskId, type);
    return row && fromEventRow(row, this.blobs);
  }

  /**
   * Every event of the task, oldest first, as much of each as says who wants it (its type,
   * and the child it was copied from): read a page at a time (the connection is free between
   * pages for the caller's writes), its data and files never loaded.
   */
  *eventHeads(taskId: string): Generator<EventHead> {
    for (let after = 0; ;) {
      const rows = this.selectEventHeads.all(taskId, after, HEADS_PAGE);
      for (const row of rows) {
        yield {
          taskId: row.task_id,
          seq: row.seq,
          type: row.type as EventType,
          data: row.child === null ? {} : { childTaskId: row.child },
          createdAt: row.created_at,
        };
      }
      if (rows.length < HEADS_PAGE) return;
      after = (rows[rows.length - 1] as EventHeadRow).seq;
    }
  }

  /** Events after `afterSeq`, oldest first; at most `limit` (-1: all, SQLite's no-limit). */
  events(taskId: string, afterSeq: number, limit = -1): EventRecord[] {
    return this.selectEvents
      .all(taskId, afterSeq, limit)
      .map((row) => fromEventRow(row, this.blobs));
  }

  /**
   * Events after `afterSeq`, oldest first, as many as `budget` allows: at most `events`, and
   * none after the one whose data (files put back) takes the page past `bytes` (one at least,
   * however large). `more`: another event followed when read.
   */
  eventPage(taskId: string, afterSeq: number, budget: EventBudget): EventPage {
    // The stored text first (rows read one at a time, no more than the budget's worth), then
    // the files they refer to: no other statement may run while one is being iterated.
    const rows: EventRow[] = [];
    /** Each row's stored data, in bytes (counted once, for both passes). */
    const dataBytes: number[] = [];
    let bytes = 0;
    let more = false;
    for (const row of this.selectEvents.iterate(taskId, afterSeq, budget.events + 1)) {
      if (rows.length === budget.events || bytes >= budget.bytes) {
        more = true;
        break;
      }
      rows.push(row);
      const data = jsonTextBytes(row.data);
      dataBytes.push(data);
      bytes += data;
    }
    const events: EventRecord[] = [];
    const size: Size = { bytes: 0 };
    for (const [i, row] of rows.entries()) {
      if (size.bytes >= budget.bytes) {
        more = true;
        break;
      }
      size.bytes += dataBytes[i] as number;
      events.push(fromEventRow(row, this.blobs, size));
    }
    return { events, more };
  }
}

export interface EventBudget {
  events: number;
  /** Bytes of event data, as JSON (UTF-8). */
  bytes: number;
}

export interface EventPage {
  events: EventRecord[];
  more: boolean;
}
