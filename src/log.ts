/** The process logger (pino, JSON lines on stdout). Errors are logged whole; never sent. */
import pino, { type Logger } from 'pino';

export function createLogger(level: string): Logger {
  return pino({ level, base: { service: 'arcd' } });
}
