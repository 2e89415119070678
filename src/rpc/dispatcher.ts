/**
 * Routes one call to its method: method lookup (-32601), then the target agent (-41001), then
 * the params schema (-32602), then the method. Knows nothing of HTTP or of which envelope
 * (ARC or JSON-RPC) carried the call; anything not an ArcError becomes -32603 with an error id.
 */
import type { Logger } from 'pino';
import type { CallContext } from '../types';
import type { MethodDefinition, Services } from '../methods/method';
import type { AgentRegistry } from '../agents/registry';
import type { SchemaRegistry } from './schemas';
import { asArcError } from './asArcError';
import type { AuthOutcome } from '../auth/authenticator';
import { type Principal, scopeRefusal } from '../auth/principal';
import {
  type ArcError,
  AgentNotFoundError,
  AuthorizationError,
  MethodNotFoundError,
  paramsError,
} from './errors';

export interface Call extends CallContext {
  method: string;
  params: unknown;
  /** What the HTTP layer found out about the caller's token. */
  auth: AuthOutcome;
}

export type Outcome =
  { result: unknown; error?: undefined } | { result?: undefined; error: ArcError };

export interface DispatcherOptions {
  methods: readonly MethodDefinition[];
  aliases: Readonly<Record<string, string>>;
  agents: AgentRegistry;
  schemas: SchemaRegistry;
  services: Services;
  logger: Logger;
}

/** The token's scopes must cover the method, and its identity must be the requestAgent. */
function authorize(principal: Principal, method: string, call: Call): void {
  const refused = scopeRefusal(principal, method);
  if (refused) throw refused;
  if (call.requestAgent !== principal.identity && !principal.admin) {
    throw new AuthorizationError('requestAgent does not match the authenticated identity', {
      requestAgent: call.requestAgent,
      identity: principal.identity,
    });
  }
}

export class Dispatcher {
  private readonly table = new Map<string, MethodDefinition>();

  constructor(private readonly options: DispatcherOptions) {
    for (const method of options.methods) {
      if (!options.schemas.has(method.schema)) {
        throw new Error(`method ${method.name} names a missing schema ${method.schema}`);
      }
      this.table.set(method.name, method);
    }
  }

  supportedMethods(): string[] {
    return [...this.table.keys()];
  }

  private lookup(name: string): MethodDefinition | undefined {
    return this.table.get(this.options.aliases[name] ?? name);
  }

  /** Never throws: every failure comes back as an ArcError the caller can serialize. */
  async dispatch(call: Call): Promise<Outcome> {
    try {
      return { result: await this.run(call) };
    } catch (error) {
      return { error: this.toArcError(error, call) };
    }
  }

  private async run(call: Call): Promise<unknown> {
    const { agents, schemas, services } = this.options;
    if (call.auth.mode === 'failed') throw call.auth.error;
    const method = this.lookup(call.method);
    if (!method) throw new MethodNotFoundError(call.method, this.supportedMethods());
    if (call.auth.mode === 'authenticated') authorize(call.auth.principal, method.name, call);
    if (!agents.has(call.targetAgent)) throw new AgentNotFoundError(call.targetAgent, agents.ids());
    const problems = schemas.check(method.schema, call.params);
    if (problems.length > 0) throw paramsError(problems);
    const context: CallContext = {
      requestAgent: call.requestAgent,
      targetAgent: call.targetAgent,
    };
    // Set afterwards rather than spread into the literal (a conditional spread is slow on Node 20).
    if (call.traceId !== undefined) context.traceId = call.traceId;
    if (call.auth.mode === 'authenticated' && call.auth.principal.admin) context.admin = true;
    return method.handle(call.params, context, services);
  }

  private toArcError(error: unknown, call: Call): ArcError {
    return asArcError(error, this.options.logger, {
      method: call.method,
      targetAgent: call.targetAgent,
    });
  }
}
