import { DEFAULTS, loadConfig } from '../src/config';

describe('config', () => {
  test('defaults are the documented ones', () => {
    const config = loadConfig({});
    expect(config).toEqual(DEFAULTS);
    expect(config).toMatchObject({ port: 8080, host: '127.0.0.1', maxBodyBytes: 16 * 1024 * 1024 });
    expect(config.db.replace(/\\/g, '/')).toBe('data/arcd.db');
  });

  test('environment overrides defaults, explicit values override both', () => {
    const env = {
      ARCD_PORT: '9000',
      ARCD_HOST: '0.0.0.0',
      ARCD_DB: '/tmp/x.db',
      ARCD_AGENTS_DIR: '/agents',
      ARCD_CONCURRENCY: '3',
    };
    expect(loadConfig(env)).toMatchObject({
      port: 9000,
      host: '0.0.0.0',
      db: '/tmp/x.db',
      agentsDir: '/agents',
      concurrency: 3,
    });
    expect(loadConfig(env, { port: '9001' }).port).toBe(9001);
    // A bad environment value a flag overrides is not read.
    expect(loadConfig({ ARCD_PORT: 'abc' }, { port: '9002' }).port).toBe(9002);
    expect(() => loadConfig({ ARCD_PORT: 'abc' })).toThrow(/ARCD_PORT/);
  });

  test.each([
    ['ARCD_PORT', 'eighty'],
    ['ARCD_CONCURRENCY', '0'],
    ['ARCD_MAX_BODY_BYTES', '1.5'],
    ['ARCD_LOST_TURN_LIMIT', '-1'],
    ['ARCD_RATE_LIMIT_PER_MINUTE', ' '], // blank is no number (it read as 0: no limit)
    // Past what a timer takes (it would fire every millisecond), a port, a date.
    ['ARCD_SSE_HEARTBEAT_MS', '3000000000'],
    ['ARCD_POLL_MS', '2147483648'],
    ['ARCD_PORT', '70000'],
    ['ARCD_RETENTION_DAYS', '999999999'],
  ])('%s=%s is refused clearly', (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(new RegExp(`${name}.*whole number`));
  });

  test('the largest values that work are taken', () => {
    expect(loadConfig({ ARCD_POLL_MS: '2147483647' }).pollMs).toBe(2_147_483_647);
    expect(loadConfig({ ARCD_PORT: '65535' }).port).toBe(65_535);
    // Times only compared or stored, never a timer's delay, may be longer (30 days here).
    const month = {
      ARCD_WEBHOOK_DISABLE_AFTER_MS: '2592000000',
      ARCD_WEBHOOK_LEASE_MS: '2592000000',
    };
    expect(loadConfig(month)).toMatchObject({
      webhookDisableAfterMs: 2_592_000_000,
      webhookLeaseMs: 2_592_000_000,
    });
    expect(loadConfig({ ARCD_WEBHOOK_SCHEDULE_MS: '0,2592000000' }).webhookScheduleMs).toEqual([
      0, 2_592_000_000,
    ]);
  });

  test('an empty explicit value is unset, as an empty variable is', () => {
    expect(loadConfig({}, { host: '', db: '', port: '' })).toMatchObject({
      host: DEFAULTS.host,
      db: DEFAULTS.db,
      port: DEFAULTS.port,
    });
    // `--db "$DB"` with DB unset: the environment's file, not a throwaway or a default one.
    const env = { ARCD_HOST: '0.0.0.0', ARCD_DB: '/srv/arcd.db' };
    expect(loadConfig(env, { host: '', db: '' })).toMatchObject({
      host: '0.0.0.0',
      db: '/srv/arcd.db',
    });
    expect(loadConfig({ ARCD_HOST: '' }).host).toBe(DEFAULTS.host);
  });

  test('a webhook schedule wait past a century is refused (its retry would be no date)', () => {
    expect(() => loadConfig({ ARCD_WEBHOOK_SCHEDULE_MS: '0,9007199254740991' })).toThrow(
      /ARCD_WEBHOOK_SCHEDULE_MS/,
    );
  });

  test('a public URL must be an http(s) URL', () => {
    expect(loadConfig({ ARCD_PUBLIC_URL: 'https://arcd.example.com' }).publicUrl).toBe(
      'https://arcd.example.com',
    );
    for (const bad of ['example.com', 'ftp://example.com', 'http//x']) {
      expect(() => loadConfig({ ARCD_PUBLIC_URL: bad })).toThrow(/--public-url: expected/);
    }
  });

  test('a lost-turn limit of 0 turns it off', () => {
    expect(DEFAULTS.lostTurnLimit).toBe(5);
    expect(loadConfig({ ARCD_LOST_TURN_LIMIT: '0' }).lostTurnLimit).toBe(0);
  });
});

describe('list and map settings', () => {
  test('webhook schedule and per-agent limits parse from the environment', () => {
    const config = loadConfig({
      ARCD_WEBHOOK_SCHEDULE_MS: '0, 10,20',
      ARCD_AGENT_CONCURRENCY: 'slow=2, echo=8',
    });
    expect(config.webhookScheduleMs).toEqual([0, 10, 20]);
    expect(config.agentConcurrency).toEqual({ slow: 2, echo: 8 });
  });

  test.each([
    ['ARCD_WEBHOOK_SCHEDULE_MS', '0,soon'],
    ['ARCD_AGENT_CONCURRENCY', 'slow'],
    ['ARCD_AGENT_CONCURRENCY', 'slow=0'],
    ['ARCD_WEBHOOK_SCHEDULE_MS', '0,,5000'],
    ['ARCD_AGENT_CONCURRENCY', 'slow=2=3'],
    ['ARCD_AGENT_CONCURRENCY', 'slow= '],
  ])('%s=%s is refused clearly', (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(new RegExp(name));
  });
});

test('a webhook lease no longer than an attempt timeout is refused (it would resend in-flight deliveries)', () => {
  expect(() => loadConfig({}, { webhookLeaseMs: 3000 })).toThrow(
    /webhookLeaseMs \(3000\) must be longer than webhookTimeoutMs \(10000\)/,
  );
  expect(() => loadConfig({ ARCD_WEBHOOK_TIMEOUT_MS: '60000' })).toThrow(/must be longer/);
  expect(loadConfig({}, { webhookLeaseMs: 10_001 }).webhookLeaseMs).toBe(10_001);
});
