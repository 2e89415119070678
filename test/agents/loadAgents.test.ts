import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadAgentsFromDir } from '../../src/agents/loadAgents';
import { AgentRegistry } from '../../src/agents/registry';
import { bundledAgentsDir } from '../../src/paths';
import { type Running, createTask, startArcd, waitForStatus } from '../helpers/arcServer';
import { compiledMain } from '../helpers/childArcd';

const fixtures = path.join(__dirname, '..', 'fixtures');

const limited = (limits: unknown) => ({
  id: 'ok',
  description: 'x',
  handle: (): void => undefined,
  limits,
});

describe('agent registry and loader', () => {
  test('the bundled folder holds the four documented agents', () => {
    const registry = new AgentRegistry();
    expect(loadAgentsFromDir(bundledAgentsDir, registry).sort()).toEqual([
      'document-analyzer',
      'echo',
      'flaky',
      'slow',
    ]);
  });

  test('a broken module stops loading with its file name', () => {
    expect(() =>
      loadAgentsFromDir(path.join(fixtures, 'agents-broken'), new AgentRegistry()),
    ).toThrow(/nohandler\.js: agent nohandler has no handle/);
  });

  test('a module this arcd cannot load stops the start, saying why', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'arcd-agents-'));
    fs.writeFileSync(path.join(dir, 'notes.md'), 'ignored');
    // Compiled in place: its source beside it is not loaded, and stops nothing.
    fs.writeFileSync(path.join(dir, 'built.mts'), 'export default {};');
    fs.writeFileSync(
      path.join(dir, 'built.js'),
      "module.exports = { id: 'built', description: 'x', handle: () => 'ok' };",
    );
    const registry = new AgentRegistry();
    expect(loadAgentsFromDir(dir, registry)).toEqual(['built']);
    fs.writeFileSync(path.join(dir, 'esm.mjs'), 'export default {};');
    expect(() => loadAgentsFromDir(dir, new AgentRegistry())).toThrow(
      /esm\.mjs: an ES module: write agents as CommonJS/,
    );
    // Nor skipped silently: a JSX or .cts module the user meant as an agent.
    for (const name of ['widget.tsx', 'typed.cts', 'view.jsx']) {
      const alone = fs.mkdtempSync(path.join(os.tmpdir(), 'arcd-agents-'));
      fs.writeFileSync(path.join(alone, name), 'module.exports = {};');
      expect(() => loadAgentsFromDir(alone, new AgentRegistry())).toThrow(
        new RegExp(`${name.replace('.', '\\.')}: not a module arcd loads`),
      );
    }
  });

  test('one module a name: a source beside its compiled .js is not loaded as well', () => {
    // (jest runs arcd as TypeScript: .ts modules load, unless compiled beside.)
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'arcd-agents-'));
    const agent = (id: string) =>
      `module.exports = { id: '${id}', description: 'x', handle: () => 'ok' };`;
    fs.writeFileSync(path.join(dir, 'greeter.ts'), agent('greeter'));
    fs.writeFileSync(path.join(dir, 'greeter.js'), agent('greeter'));
    fs.writeFileSync(path.join(dir, 'twice.cjs'), agent('twice'));
    fs.writeFileSync(path.join(dir, 'twice.js'), agent('twice'));
    fs.writeFileSync(path.join(dir, 'alone.ts'), agent('alone'));
    expect(loadAgentsFromDir(dir, new AgentRegistry()).sort()).toEqual([
      'alone',
      'greeter',
      'twice',
    ]);
    // A module throwing something that is no Error says what it threw.
    fs.writeFileSync(path.join(dir, 'throws.js'), "throw 'no config';");
    expect(() => loadAgentsFromDir(dir, new AgentRegistry())).toThrow(/throws\.js: no config$/);
  });

  test('compiled arcd refuses a TypeScript agent module instead of skipping it', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'arcd-agents-'));
    fs.writeFileSync(path.join(dir, 'greeter.ts'), 'export default {};');
    const run = spawnSync(process.execPath, [compiledMain, 'serve', '--port', '0'], {
      env: { ...process.env, ARCD_AGENTS_DIR: dir, ARCD_DB: path.join(dir, 'x.db') },
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(run.status).not.toBe(0);
    expect(run.stderr + run.stdout).toMatch(/greeter\.ts: TypeScript is loaded only when arcd/);
  });

  test('a missing folder is an error, not an empty server', () => {
    expect(() => loadAgentsFromDir(path.join(fixtures, 'nope'), new AgentRegistry())).toThrow(
      /agents folder not found/,
    );
  });

  test.each([
    [{ id: 'has space', description: 'x', handle: (): void => undefined }, /invalid agent id/],
    [{ id: 'ok', handle: (): void => undefined }, /no description/],
    [{ id: 'ok', description: 'x' }, /no handle/],
    [limited({ concurrency: 2.5 }), /ok: limits.concurrency must be a whole number from 1/],
    [limited({ concurrency: 0 }), /limits.concurrency must be a whole number/],
    [limited({ maxQueued: 0 }), /limits.maxQueued must be a whole number/],
    [limited({ timeoutMs: 30 * 86_400_000 }), /limits.timeoutMs must be a whole number from 1 to/],
    [
      limited({ retries: 3 }),
      /limits.retries is not a limit \(concurrency, maxQueued, timeoutMs\)/,
    ],
    [limited([]), /limits must be an object/],
  ])('registration refuses %p', (agent, message) => {
    expect(() => new AgentRegistry().register(agent as never)).toThrow(message);
  });

  test('limits that can work are taken', () => {
    const registry = new AgentRegistry();
    registry.register(limited({ concurrency: 1, maxQueued: 10, timeoutMs: 2 ** 31 - 1 }) as never);
    expect(registry.get('ok')?.limits).toEqual({
      concurrency: 1,
      maxQueued: 10,
      timeoutMs: 2 ** 31 - 1,
    });
  });

  test('--agent-concurrency naming an agent not hosted stops the start', async () => {
    await expect(startArcd({ config: { agentConcurrency: 'slwo=2' } })).rejects.toThrow(
      /--agent-concurrency: no agent slwo here \(agents: .*echo/,
    );
  });

  test('the same id twice is refused', () => {
    const registry = new AgentRegistry();
    const agent = { id: 'twin', description: 'x', handle: () => undefined };
    registry.register(agent);
    expect(() => registry.register(agent)).toThrow(/registered twice/);
  });

  test('ARCD_AGENTS_DIR hosts the agents of another folder', async () => {
    const arcd: Running = await startArcd({
      config: { agentsDir: path.join(fixtures, 'agents-ok') },
    });
    expect(arcd.server.agents.ids()).toEqual(['greeter']);
    const task = await createTask(arcd.url, 'greeter', 'Ada');
    const done = await waitForStatus(arcd.url, 'greeter', task.taskId, ['COMPLETED']);
    expect(done.messages[1].parts).toEqual([{ type: 'TextPart', content: 'hello, Ada' }]);
  });
});
