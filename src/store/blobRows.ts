/**
 * Large part contents kept once, outside the hot rows. Writing JSON (message parts, artifact
 * parts, event data), every file-like part whose content is at least BLOB_THRESHOLD characters
 * is swapped for {"$arcdBlob": sha256} and the content goes to the blobs table (once per
 * content, whichever task sent it); reading swaps it back, so nothing outside the store ever
 * sees a reference. A blob goes with the last task that refers to it (blob_refs cascade, and
 * the blobs_follow_refs SQL trigger of migration 0015).
 */
import { createHash } from 'node:crypto';
import type { Db } from './openDatabase';
import type { JsonValue } from '../types';
import type { WriteRecorder } from './writeRecorder';
import { jsonStringBytes } from './jsonBytes';

/** Contents this long or longer live in the blobs table. */
export const BLOB_THRESHOLD = 64 * 1024;
const REF = '$arcdBlob';
const FILE_TYPES = new Set(['FilePart', 'file', 'ImagePart', 'image', 'AudioPart', 'audio']);

type JsonRecord = { [key: string]: JsonValue };

export class BlobTable {
  private readonly insertBlob;
  private readonly insertRef;
  private readonly selectBlob;

  constructor(db: Db, recorder: WriteRecorder) {
    this.insertBlob = recorder.statement(
      db,
      'INSERT OR IGNORE INTO blobs (blob_id, content, size, created_at) VALUES (?, ?, ?, ?)',
    );
    this.insertRef = recorder.statement(
      db,
      'INSERT OR IGNORE INTO blob_refs (task_id, blob_id) VALUES (?, ?)',
    );
    // Only a blob of the task read: one it stored itself (blob_refs), never another task's.
    this.selectBlob = db.prepare<[string, string], { content: string }>(
      `SELECT b.content FROM blob_refs r JOIN blobs b ON b.blob_id = r.blob_id
        WHERE r.task_id = ? AND r.blob_id = ?`,
    );
  }

  /** JSON text of `value` with large file contents stored as blobs of `taskId`. */
  deflate(taskId: string, value: unknown): string {
    return this.stored(taskId, value, JSON.stringify(value));
  }

  /** The same, given `text` = JSON.stringify(value) (for a caller that also needs its length). */
  stored(taskId: string, value: unknown, text: string): string {
    if (text.length < BLOB_THRESHOLD) return text;
    return JSON.stringify(this.swapOut(taskId, value as JsonValue));
  }

  private swapOut(taskId: string, value: JsonValue): JsonValue {
    if (Array.isArray(value)) return value.map((item) => this.swapOut(taskId, item));
    if (value === null || typeof value !== 'object') return value;
    const { type, content } = value;
    if (typeof type === 'string' && FILE_TYPES.has(type) && typeof content === 'string') {
      if (content.length >= BLOB_THRESHOLD) {
        const blobId = createHash('sha256').update(content).digest('hex');
        this.insertBlob.run(blobId, content, content.length, new Date().toISOString());
        this.insertRef.run(taskId, blobId);
        // eslint-disable-next-line no-restricted-syntax -- a client's part (JSON), and only for large files
        return { ...value, content: { [REF]: blobId } };
      }
      return value;
    }
    const out: JsonRecord = {};
    for (const [key, item] of Object.entries(value)) out[key] = this.swapOut(taskId, item);
    return out;
  }

  /**
   * Parses JSON text of `taskId` written by deflate, putting blob contents back: only as the
   * content of a file-like part (where swapOut puts references), and only blobs the task
   * stored itself. A caller's data of the same shape (a data part, metadata, a file part nested
   * in a data part's content) naming another task's file stays as sent: read as a reference,
   * it would have been replaced by whatever file of any task has that hash. `size.bytes` grows
   * by the bytes of every content put back, as JSON text, when given.
   */
  inflate<T>(taskId: string, text: string, size?: { bytes: number }): T {
    if (!text.includes(REF)) return JSON.parse(text) as T;
    return JSON.parse(text, (_key, value: unknown) => {
      if (!value || typeof value !== 'object' || Array.isArray(value)) return value;
      const { type, content } = value as JsonRecord;
      if (typeof type !== 'string' || !FILE_TYPES.has(type)) return value;
      if (!content || typeof content !== 'object' || Array.isArray(content)) return value;
      const ref = content[REF];
      if (typeof ref !== 'string' || Object.keys(content).length !== 1) return value;
      const blob = this.selectBlob.get(taskId, ref);
      if (!blob) return value;
      (value as JsonRecord).content = blob.content;
      if (size) size.bytes += jsonStringBytes(blob.content);
      return value;
    }) as T;
  }
}
