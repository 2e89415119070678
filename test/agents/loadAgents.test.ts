import path from 'node:path';
import { loadAgentsFromDir } from '../../src/agents/loadAgents';
import { AgentRegistry } from '../../src/agents/registry';
import { bundledAgentsDir } from '../../src/paths';
import { type Running, createTask, startArcd, waitForStatus } from '../helpers/arcServer';

const fixtures = path.join(__dirname, '..', 'fixtures');

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

  test('a missing folder is an error, not an empty server', () => {
    expect(() => loadAgentsFromDir(path.join(fixtures, 'nope'), new AgentRegistry())).toThrow(
      /agents folder not found/,
    );
  });

  test.each([
    [{ id: 'has space', description: 'x', handle: (): void => undefined }, /invalid agent id/],
    [{ id: 'ok', handle: (): void => undefined }, /no description/],
    [{ id: 'ok', description: 'x' }, /no handle/],
  ])('registration refuses %p', (agent, message) => {
    expect(() => new AgentRegistry().register(agent as never)).toThrow(message);
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
