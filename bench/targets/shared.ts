/**
 * Shared by the floor targets: the port and database file from argv, a JSON body reader, and the
 * task-sized ARC answer they send back. Each target prints "ready" on stdout once listening.
 */
import type http from 'node:http';

export interface ArcRequest {
  id: string | number;
  method: string;
  requestAgent: string;
  targetAgent: string;
  params: { initialMessage?: { role: string; parts: unknown[] }; priority?: string };
}

export function portArg(): number {
  const port = Number(process.argv[2]);
  if (!Number.isInteger(port) || port <= 0) throw new Error('usage: <target> <port> [db file]');
  return port;
}

/** Reads the whole body and parses it as JSON (what arcd does with every request). */
export function readJson(req: http.IncomingMessage): Promise<ArcRequest> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('error', reject);
    req.on('end', () => {
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')) as ArcRequest);
      } catch (error) {
        reject(error as Error);
      }
    });
  });
}

export function send(res: http.ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value);
  res.writeHead(status, {
    'Content-Type': 'application/arc+json',
    'Content-Length': Buffer.byteLength(body),
  });
  res.end(body);
}

/** The envelope arcd answers task.create with: a SUBMITTED task of the same shape. */
export function taskEnvelope(request: ArcRequest, taskId: string, now: string) {
  return {
    arc: '1.0',
    id: request.id,
    responseAgent: request.targetAgent,
    targetAgent: request.requestAgent,
    result: {
      type: 'task',
      task: {
        taskId,
        status: 'SUBMITTED',
        createdAt: now,
        updatedAt: now,
        assignedAgent: request.targetAgent,
        requestAgent: request.requestAgent,
        priority: request.params?.priority ?? 'NORMAL',
      },
    },
    error: null,
  };
}

export function ready(port: number): void {
  process.stdout.write(`ready ${port}\n`);
}
