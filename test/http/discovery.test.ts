import { type Running, type WireJson, startArcd } from '../helpers/arcServer';

let arcd: Running;
beforeEach(async () => {
  arcd = await startArcd();
});

async function getJson(path: string) {
  const response = await fetch(`${arcd.url}${path}`);
  return { status: response.status, body: (await response.json()) as WireJson };
}

describe('discovery', () => {
  test('GET /health', async () => {
    const { status, body } = await getJson('/health');
    expect(status).toBe(200);
    expect(body).toMatchObject({
      status: 'ok',
      agents: 4,
      activeTurns: 0,
      version: expect.any(String),
    });
  });

  test('GET /agent-info lists every hosted agent with its methods and card', async () => {
    const { body } = await getJson('/agent-info');
    expect(body).toMatchObject({
      name: 'arcd',
      protocol: 'ARC',
      protocolVersion: '1.0',
      endpoints: { arc: '/arc' },
    });
    expect(body.agents.map((a: { agentId: string }) => a.agentId)).toEqual([
      'document-analyzer',
      'echo',
      'flaky',
      'slow',
    ]);
    for (const agent of body.agents) {
      expect(agent.status).toBe('active');
      expect(agent.supportedMethods).toEqual(expect.arrayContaining(['task.create', 'task.info']));
      const card = await getJson(new URL(agent.card).pathname);
      expect(card.status).toBe(200);
      expect(card.body).toMatchObject({
        agentId: agent.agentId,
        description: expect.any(String),
        url: `${arcd.url}/arc`,
        capabilities: { streaming: agent.agentId === 'echo', pushNotifications: true },
      });
    }
  });

  test('the well-known index holds every card; an unknown card is 404', async () => {
    const index = await getJson('/.well-known/agent.json');
    expect(index.body.agents).toHaveLength(4);
    const missing = await getJson('/.well-known/agents/ghost.json');
    expect(missing.status).toBe(404);
    expect(missing.body.availableAgents).toContain('echo');
  });
});
