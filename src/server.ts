/**
 * createServer(config) wires store, agents, engine, dispatcher and HTTP into one arcd
 * instance. Importing this module starts nothing; listen() opens the port and starts the
 * engine, close() stops taking requests, aborts handlers and closes the database.
 */
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import type { Express } from 'express';
import type { Logger } from 'pino';
import type { AgentDefinition } from './agents/contract';
import { AgentRegistry } from './agents/registry';
import { loadAgentsFromDir } from './agents/loadAgents';
import { createRemoteAgent, parseRemoteAgents } from './agents/remoteAgent';
import { type Clock, systemClock } from './clock';
import { type Config, loadConfig } from './config';
import { StoppedTasks } from './engine/stoppedTasks';
import { Runner } from './engine/runner';
import { createBrowserGuard } from './http/browserGuard';
import { createApp, createRequestListener } from './http/app';
import { createArcHandler } from './http/arcHandler';
import { createTaskEventsHandler } from './http/taskEvents';
import { RateLimiter } from './http/rateLimiter';
import { OpenStreams } from './http/openStreams';
import { helmetHeaders } from './http/securityHeaders';
import { createLogger } from './log';
import { METHODS, METHOD_ALIASES } from './methods';
import { projectRoot } from './paths';
import { Dispatcher } from './rpc/dispatcher';
import { createAuthenticatorFromConfig } from './auth/fromConfig';
import { ARC_SCOPES } from './auth/principal';
import { SchemaRegistry } from './rpc/schemas';
import { SqliteStore } from './store/sqliteStore';
import { TaskService } from './tasks/taskService';
import { EventFeed } from './tasks/eventFeed';
import { RecentTaskLogs } from './tasks/recentTaskLogs';
import { DependencyWatch } from './tasks/dependencyWatch';
import { ParentWatch } from './tasks/parentWatch';
import { TaskWaiter } from './tasks/taskWaiter';
import { RetentionPurge } from './tasks/retentionPurge';
import { DependencyLocks } from './tasks/dependencyLocks';
import { ScheduleService } from './schedules/scheduleService';
import { Scheduler } from './schedules/scheduler';
import { TriggerService } from './triggers/triggerService';
import { ChatService } from './chat/chatService';
import { DeliveryWorker } from './webhooks/deliveryWorker';
import { parseAllowlist } from './webhooks/ssrf';
import { SubscriptionService } from './webhooks/subscriptionService';

export interface ServerOptions {
  /** Agents registered in code, beside those loaded from `config.agentsDir`. */
  agents?: AgentDefinition[];
  /** Skip the agents folder (tests that host only their own agents). */
  loadAgentsDir?: boolean;
  logger?: Logger;
  clock?: Clock;
}

export interface ArcdServer {
  app: Express;
  config: Config;
  agents: AgentRegistry;
  store: SqliteStore;
  runner: Runner;
  deliveries: DeliveryWorker;
  tasks: TaskService;
  feed: EventFeed;
  retention: RetentionPurge;
  scheduler: Scheduler;
  /** Releases tasks whose dependencies finished (catchUp: for releases a crash never made). */
  dependencies: DependencyWatch;
  logger: Logger;
  listen(): Promise<{ port: number; host: string; url: string }>;
  close(): Promise<void>;
}

const version = (
  JSON.parse(fs.readFileSync(path.join(projectRoot, 'package.json'), 'utf8')) as { version: string }
).version;

/** How often blocked tasks and multi-agent parents are re-checked, for moves a crashed process never made. */
const DEPENDENCY_CATCH_UP_MS = 60_000;
/** How often finished tasks past retention are looked for. */
const RETENTION_SWEEP_MS = 10 * 60_000;

export function createServer(
  config: Config = loadConfig(),
  options: ServerOptions = {},
): ArcdServer {
  const logger = options.logger ?? createLogger(config.logLevel);
  const clock = options.clock ?? systemClock;
  const schemas = new SchemaRegistry();
  const agents = new AgentRegistry();
  if (options.loadAgentsDir !== false) {
    const loaded = loadAgentsFromDir(config.agentsDir, agents);
    if (loaded.length === 0) {
      logger.warn({ agentsDir: config.agentsDir }, 'the agents folder holds no agent module');
    }
  }
  for (const agent of options.agents ?? []) agents.register(agent);
  for (const remote of parseRemoteAgents(config.remoteAgents)) {
    agents.register(createRemoteAgent({ ...remote, requestAgent: config.serverName }));
  }
  agents.checkConcurrencyOverrides(config.agentConcurrency);

  if (config.writerThread !== 'on' && config.writerThread !== 'off') {
    throw new Error(
      `ARCD_WRITER_THREAD/--writer-thread: expected "on" or "off", got "${config.writerThread}"`,
    );
  }
  // Every setting is checked before the database opens: a refused start leaves no connection
  // or writer thread behind it (and no database file).
  const authenticator = createAuthenticatorFromConfig(config, (error) =>
    logger.warn(
      { err: error, file: config.apiKeysFile },
      'the API key file changed and does not read: the keys stay as they were',
    ),
  );
  const policy = parseAllowlist(config.webhookAllowlist);
  const store = new SqliteStore(config.db, {
    writerThread: config.writerThread === 'on',
    writerRestarts: {
      onStopped: (error, restartInMs) =>
        logger.error(
          { err: error, db: config.db, restartInMs },
          'the SQLite writer thread stopped: writes go on on the main connection, slower, until a new one starts',
        ),
      onRestarted: () => logger.info({ db: config.db }, 'a new SQLite writer thread started'),
    },
  });
  // A blocking create's task may be run and settled by another process on the file.
  const waiter = new TaskWaiter({
    read: (taskId) => store.getTask(taskId),
    everyMs: config.pollMs,
  });
  const partLimits = { maxPartBytes: config.maxPartBytes, maxMessageBytes: config.maxMessageBytes };
  const runner = new Runner({ store, registry: agents, schemas, clock, logger, ...config });
  // A run again and a release of dependents, each a check then a write: one at a time a task.
  const dependencyLocks = new DependencyLocks();
  const tasks = new TaskService(
    store,
    clock,
    {
      turnOwed: (taskId) => runner.owed(taskId),
      startNow: (task) => runner.startNow(task),
      canceled: (taskId, reason) => runner.abort(taskId, reason),
      maxQueued: (agent) => agents.get(agent)?.limits?.maxQueued,
      agentIds: () => agents.ids(),
      expectSettled: (taskId, ms) => waiter.expect(taskId, ms),
    },
    partLimits,
    config.maxHistoryBytes,
    dependencyLocks,
  );
  const deliveries = new DeliveryWorker({
    store,
    clock,
    logger,
    policy,
    scheduleMs: config.webhookScheduleMs,
    timeoutMs: config.webhookTimeoutMs,
    concurrency: config.webhookConcurrency,
    perHostConcurrency: config.webhookPerHostConcurrency,
    leaseMs: config.webhookLeaseMs,
    pollMs: config.webhookPollMs,
    disableAfterMs: config.webhookDisableAfterMs,
    maxResponseBytes: config.webhookMaxResponseBytes,
    userAgent: `arcd/${version}`,
  });
  const dependencyWatch = new DependencyWatch(
    store,
    clock,
    logger,
    () => runner.poke(),
    dependencyLocks,
  );
  const parentWatch = new ParentWatch(store, clock, logger, (taskId, reason) =>
    runner.abort(taskId, reason),
  );
  const retention = new RetentionPurge(store, clock, logger, config.retentionDays);
  const scheduler = new Scheduler(store, tasks, clock, logger, () => agents.ids());
  // Only agents with a `stopped` hook are owed one (an agent not hosted here may have one).
  store.hasStopHook = (agent) => {
    const hosted = agents.get(agent);
    return !hosted || hosted.stopped !== undefined;
  };
  const stoppedTasks = new StoppedTasks({
    agents,
    store,
    logger,
    clock,
    owner: runner.owner,
    leaseMs: config.leaseMs,
    turnHere: (taskId) => runner.turnHere(taskId),
  });
  store.onCommit((_taskId, written) => {
    if (written.deliveries > 0) deliveries.poke();
    if (written.task) {
      waiter.committed(written.task, written.messages);
      dependencyWatch.committed(written.task, written.noDependents);
      parentWatch.committed(written.task);
      runner.committed(written.task);
      stoppedTasks.committed(written.task, written.stopOwed);
    }
  });
  const subscriptions = new SubscriptionService(store, tasks, clock, policy, () =>
    deliveries.poke(),
  );
  let listeningUrl = '';
  /** `--public-url` without trailing slashes: the base of the URLs trigger and card give. */
  const publicUrl = config.publicUrl.replace(/\/+$/, '');
  const triggers = new TriggerService(
    store,
    tasks,
    agents,
    clock,
    () => publicUrl || listeningUrl,
    partLimits,
  );
  const chats = new ChatService(store, agents, clock, partLimits, logger);
  const dispatcher = new Dispatcher({
    methods: METHODS,
    aliases: METHOD_ALIASES,
    agents,
    schemas,
    services: {
      tasks,
      subscriptions,
      chats,
      schedules: new ScheduleService(store, clock, partLimits),
      triggers,
    },
    logger,
  });
  const startedAt = Date.now();
  // A file no other process can open has no commits to look for but this process's own.
  const feed = new EventFeed(store, config.db === ':memory:' ? 0 : config.pollMs);
  const logs = new RecentTaskLogs(store);
  const limiter = new RateLimiter(config.rateLimitPerMinute, config.trustProxy);
  const securityHeaders = helmetHeaders();
  const rpcDeps = { dispatcher, schemas, agents, serverName: config.serverName };
  const arcHandler = createArcHandler({
    deps: rpcDeps,
    maxBodyBytes: config.maxBodyBytes,
    maxBatch: config.maxBatch,
    authenticator,
    limiter,
    securityHeaders,
    logger,
  });
  const taskEvents = createTaskEventsHandler({
    store,
    feed,
    logs,
    authenticator,
    limiter,
    openStreams: new OpenStreams(config.maxStreamsPerCaller),
    heartbeatMs: config.sseHeartbeatMs,
    securityHeaders,
    logger,
  });
  const browserGuard = createBrowserGuard({
    open: config.auth !== 'required',
    listenHost: config.host,
    securityHeaders,
  });
  const app = createApp({
    logger,
    triggers: { triggers, maxBodyBytes: config.maxBodyBytes, limiter },
    arc: {
      deps: rpcDeps,
      maxBodyBytes: config.maxBodyBytes,
      maxBatch: config.maxBatch,
      authenticator,
      limiter,
      logger,
    },
    discovery: {
      agents,
      serverName: config.serverName,
      version,
      supportedMethods: () => dispatcher.supportedMethods(),
      publicUrl,
      listeningUrl: () => listeningUrl,
      authentication:
        config.auth === 'required'
          ? { schemes: ['bearer'], scopes: ARC_SCOPES }
          : { schemes: ['none'], scopes: [] },
      health: () => ({
        version,
        uptimeMs: Date.now() - startedAt,
        agents: agents.ids().length,
        activeTurns: runner.activeTurns,
      }),
    },
  });

  let httpServer: http.Server | undefined;
  let closing: Promise<void> | undefined;

  async function listen() {
    httpServer = http.createServer(
      createRequestListener(app, [browserGuard, arcHandler, taskEvents]),
    );
    const server = httpServer;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.port, config.host, () => resolve());
    });
    runner.start();
    deliveries.start();
    dependencyWatch.start(DEPENDENCY_CATCH_UP_MS);
    parentWatch.start(DEPENDENCY_CATCH_UP_MS);
    retention.start(RETENTION_SWEEP_MS);
    scheduler.start(config.pollMs);
    stoppedTasks.start(config.pollMs);
    const { port } = server.address() as AddressInfo;
    const host = config.host.includes(':') ? `[${config.host}]` : config.host;
    const url = `http://${host}:${port}`;
    listeningUrl = url;
    logger.info({ url, db: config.db, agents: agents.ids() }, 'arcd listening');
    if (!authenticator.required) {
      logger.warn(
        { host: config.host },
        'AUTH IS OFF: anyone who can reach this address can call every agent as any requestAgent',
      );
    }
    return { port, host: config.host, url };
  }

  async function shutdown() {
    // One grace for all of it: the handlers' winding down, then the stopped hooks under way.
    const graceEnds = Date.now() + config.shutdownGraceMs;
    const server = httpServer;
    const stopped = server
      ? new Promise<void>((resolve) => server.close(() => resolve()))
      : Promise.resolve();
    server?.closeIdleConnections();
    dependencyWatch.stop();
    parentWatch.stop();
    const purged = retention.stop(); // a batch under way commits before the store closes
    const fired = scheduler.stop(); // a firing under way commits before the store closes
    stoppedTasks.stop();
    chats.stop();
    await runner.stop();
    await stoppedTasks.drained(Math.max(0, graceEnds - Date.now()));
    await deliveries.stop();
    server?.closeAllConnections();
    feed.stop();
    await stopped;
    limiter.close();
    await purged;
    await fired;
    await store.close();
    logger.info('arcd stopped');
  }

  return {
    app,
    config,
    agents,
    store,
    runner,
    deliveries,
    tasks,
    feed,
    retention,
    scheduler,
    dependencies: dependencyWatch,
    logger,
    listen,
    close: () => (closing ??= shutdown()),
  };
}
