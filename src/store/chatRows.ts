/**
 * Chats and their messages. A chat's row and each message are written in one transaction, so
 * the message count and the history always agree.
 */
import type { Db } from './openDatabase';
import type { JsonObject, Message, Part, Role } from '../types';
import { compact, fromJson, optional, toJson } from './rowMapping';
import { type PurgeBatch, UNFINISHED, historyShedder, removeWithin } from './taskRemoval';

export type ChatStatus = 'ACTIVE' | 'PAUSED' | 'CLOSED';

export interface ChatRecord {
  chatId: string;
  assignedAgent: string;
  requestAgent: string;
  status: ChatStatus;
  metadata?: JsonObject;
  reason?: string;
  messageCount: number;
  createdAt: string;
  updatedAt: string;
  closedAt?: string;
}

interface ChatRow {
  chat_id: string;
  assigned_agent: string;
  request_agent: string;
  status: string;
  metadata: string | null;
  reason: string | null;
  message_count: number;
  created_at: string;
  updated_at: string;
  closed_at: string | null;
}

function fromChatRow(row: ChatRow): ChatRecord {
  return compact({
    chatId: row.chat_id,
    assignedAgent: row.assigned_agent,
    requestAgent: row.request_agent,
    status: row.status as ChatStatus,
    metadata: fromJson(row.metadata),
    reason: optional(row.reason),
    messageCount: row.message_count,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    closedAt: optional(row.closed_at),
  });
}

export class ChatTables {
  private readonly insertChat;
  private readonly selectChat;
  private readonly insertMessage;
  private readonly bump;
  private readonly close;
  private readonly selectMessages;
  private readonly purgeable;
  private readonly deleteOne;
  /** A chat's messages, shed a slice at a time before its row goes (the purge's). */
  private readonly shedMessages;

  constructor(private readonly db: Db) {
    this.shedMessages = historyShedder(db, 'chat_messages', 'chat_id');
    this.insertChat =
      db.prepare(`INSERT OR IGNORE INTO chats (chat_id, assigned_agent, request_agent,
      status, metadata, created_at, updated_at) VALUES (?, ?, ?, 'ACTIVE', ?, ?, ?)`);
    this.selectChat = db.prepare<[string], ChatRow>('SELECT * FROM chats WHERE chat_id = ?');
    this.insertMessage = db.prepare(`INSERT INTO chat_messages (chat_id, seq, role, parts,
      agent_id, timestamp) VALUES (?, ?, ?, ?, ?, ?)`);
    this.bump = db.prepare(
      'UPDATE chats SET message_count = message_count + 1, updated_at = ? WHERE chat_id = ?',
    );
    this.close = db.prepare(`UPDATE chats SET status = 'CLOSED', reason = ?, closed_at = ?,
      updated_at = ? WHERE chat_id = ? AND status <> 'CLOSED'`);
    this.purgeable = db.prepare<[string, number], { chat_id: string }>(`SELECT chat_id FROM chats
      WHERE status = 'CLOSED' AND closed_at < ? ORDER BY closed_at LIMIT ?`);
    this.deleteOne = db.prepare<[string]>('DELETE FROM chats WHERE chat_id = ?');
    this.selectMessages = db.prepare<
      [string],
      { role: string; parts: string; agent_id: string | null; timestamp: string }
    >('SELECT role, parts, agent_id, timestamp FROM chat_messages WHERE chat_id = ? ORDER BY seq');
  }

  /** Creates the chat; false when its id is taken already (nothing written). */
  create(chat: Omit<ChatRecord, 'status' | 'messageCount'>): boolean {
    const { changes } = this.insertChat.run(
      chat.chatId,
      chat.assignedAgent,
      chat.requestAgent,
      toJson(chat.metadata),
      chat.createdAt,
      chat.updatedAt,
    );
    return changes > 0;
  }

  get(chatId: string): ChatRecord | undefined {
    const row = this.selectChat.get(chatId);
    return row ? fromChatRow(row) : undefined;
  }

  /**
   * Appends a message (in a transaction with the count); returns the chat after it, or
   * undefined when the chat is closed (nothing is added to a closed chat).
   */
  append(
    chatId: string,
    message: Message & { timestamp: string },
    at: string,
  ): ChatRecord | undefined {
    return this.db.transaction(() => {
      const chat = this.get(chatId);
      if (!chat) throw new Error(`chat ${chatId} vanished`);
      if (chat.status === 'CLOSED') return undefined;
      this.insertMessage.run(
        chatId,
        chat.messageCount + 1,
        message.role,
        JSON.stringify(message.parts),
        message.agentId ?? null,
        message.timestamp,
      );
      this.bump.run(at, chatId);
      return this.get(chatId) as ChatRecord;
    })();
  }

  /** The chat closed now, or undefined if it was closed already (nothing written). */
  closeChat(chatId: string, reason: string, at: string): ChatRecord | undefined {
    if (this.close.run(reason, at, at, chatId).changes === 0) return undefined;
    return this.get(chatId) as ChatRecord;
  }

  /**
   * Deletes chats closed before `beforeIso`, each with all its messages: up to `limit`, or as
   * many as `budgetMs` of work allows (as TaskRemoval.purge).
   */
  purge(beforeIso: string, limit: number, budgetMs: number): PurgeBatch {
    const ids = this.purgeable.all(beforeIso, limit).map((row) => row.chat_id);
    return removeWithin(ids, limit, budgetMs, (chatId, spent) => {
      // A closed chat takes no more messages: the next batch goes on where this one stopped.
      if (!this.shedMessages(chatId, spent).done) return UNFINISHED;
      return this.deleteOne.run(chatId).changes;
    });
  }

  messages(chatId: string): Message[] {
    return this.selectMessages.all(chatId).map((row) =>
      compact({
        role: row.role as Role,
        parts: JSON.parse(row.parts) as Part[],
        agentId: optional(row.agent_id),
        timestamp: row.timestamp,
      }),
    );
  }
}
