/**
 * helmet's response headers, recorded once by running its middleware against a recorder, so
 * that the plain node:http path of POST /arc sends exactly what the express app sends.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import helmet from 'helmet';
import type { HeaderList } from './writeAnswer';

export function helmetHeaders(): HeaderList {
  const headers = new Map<string, string>();
  const recorder = {
    setHeader: (name: string, value: unknown) => headers.set(name, String(value)),
    removeHeader: (name: string) => headers.delete(name),
    getHeader: (name: string) => headers.get(name),
  };
  let failure: unknown;
  helmet()(
    {} as IncomingMessage,
    recorder as unknown as ServerResponse,
    (error?: unknown) => (failure = error),
  );
  if (failure) throw failure as Error;
  return [...headers.entries()];
}
