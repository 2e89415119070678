/**
 * With auth off, anything that reaches the port may call as anyone: a web page too, unless
 * refused. A browser POSTs cross-site without asking first (a "simple" request: any body, a
 * text/plain Content-Type), and a page whose name is made to resolve to 127.0.0.1 (DNS
 * rebinding) even reads the answers. Browsers name the page's site in `Origin` on such a POST,
 * and the name they asked for in `Host`; ARC clients (the SDK, curl, other servers) send no
 * Origin. So, with auth off, a request is refused (403) when its Origin is not a loopback
 * site, or, while the server listens on a loopback address, when its Host is not a loopback
 * name. With auth on, tokens guard every call and nothing is refused here. Only the ARC
 * routes are guarded (`/arc`, its event streams, and `/`, which answers as `/arc`): trigger
 * URLs carry their own secret token, and discovery tells nothing a caller could not read.
 */
import ipaddr from 'ipaddr.js';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { PlainRoute } from './app';
import { type HeaderList, writeJson } from './writeAnswer';

export interface BrowserGuardOptions {
  /** Whether calls need no token (auth off). */
  open: boolean;
  /** The address the server listens on (`--host`). */
  listenHost: string;
  securityHeaders: HeaderList;
}

/** Whether `hostname` (no port, no brackets) names this machine's loopback. */
export function isLoopbackName(hostname: string): boolean {
  const name = hostname.toLowerCase().replace(/\.$/, '');
  if (name === 'localhost' || name.endsWith('.localhost')) return true;
  // An address: by its range, as the webhook guard judges addresses (ssrf.ts).
  return ipaddr.isValid(name) && ipaddr.parse(name).range() === 'loopback';
}

/** The host name of a Host header (`name:port`, `[v6]:port`), or undefined if malformed. */
function hostnameOf(host: string): string | undefined {
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(host);
  if (bracketed) return bracketed[1];
  const plain = /^([^:]+)(?::\d+)?$/.exec(host);
  return plain?.[1];
}

/**
 * The last Host header found to name this machine. ARC clients send the same one on every
 * call, and judging it (two patterns, an address parsed) cost ~2 µs and ~1.8 KB of garbage a
 * call, 3% of a task.create's event-loop time; the verdict depends on the string alone.
 */
let lastLoopbackHost: string | undefined;

/** Whether a Host header (`name:port`, `[v6]:port`) names this machine's loopback. */
function isLoopbackHost(host: string | undefined): boolean {
  if (host === undefined) return false;
  if (host === lastLoopbackHost) return true;
  const name = hostnameOf(host);
  if (!name || !isLoopbackName(name)) return false;
  lastLoopbackHost = host;
  return true;
}

/** Whether `url` is one of the ARC routes: `/`, `/arc`, `/arc/…`, with or without a query. */
function isGuardedPath(url: string): boolean {
  const query = url.indexOf('?');
  const path = query === -1 ? url : url.slice(0, query);
  return path === '/' || path === '/arc' || path.startsWith('/arc/');
}

/** Why a browser's request may not be served while auth is off; undefined when it may. */
export function browserRefusal(
  req: Pick<IncomingMessage, 'headers' | 'url'>,
  listensOnLoopback: boolean,
): string | undefined {
  if (!isGuardedPath(req.url ?? '')) return undefined;
  const origin = req.headers.origin;
  if (origin !== undefined) {
    let site: string | undefined;
    try {
      site = new URL(origin).hostname.replace(/^\[(.*)\]$/, '$1');
    } catch {
      site = undefined; // "null" (a sandboxed page, a file): no site of this machine's
    }
    if (!site || !isLoopbackName(site)) {
      return `a request from the web page at ${origin} (auth is off: only this machine's own pages may call)`;
    }
  }
  if (listensOnLoopback) {
    if (!isLoopbackHost(req.headers.host)) {
      return `a request for host ${req.headers.host ?? '(none)'} (auth is off and the server listens on loopback: only this machine's names are served)`;
    }
  }
  return undefined;
}

export function createBrowserGuard(options: BrowserGuardOptions): PlainRoute {
  const listensOnLoopback = isLoopbackName(options.listenHost);
  return (req: IncomingMessage, res: ServerResponse): boolean => {
    if (!options.open) return false;
    const refused = browserRefusal(req, listensOnLoopback);
    if (!refused) return false;
    // The body is not read: the connection goes with the answer.
    res.setHeader('Connection', 'close');
    writeJson(
      res,
      403,
      { error: { code: -44002, message: `Refused: ${refused}`, details: {} } },
      options.securityHeaders,
    );
    return true;
  };
}
