import http from 'node:http';
import { type Running, type WireJson, startArcd } from '../helpers/arcServer';

let arcd: Running;
beforeEach(async () => {
  arcd = await startArcd();
});
afterEach(async () => arcd?.close());

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

  test('cards say how to authenticate, and list chat methods only for agents that chat', async () => {
    const open = await getJson('/.well-known/agents/echo.json');
    expect(open.body.authentication).toEqual({ schemes: ['none'], scopes: [] });
    expect(open.body.supportedMethods).toContain('chat.start');
    const slow = await getJson('/.well-known/agents/slow.json');
    expect(slow.body.supportedMethods).toContain('task.create');
    expect(slow.body.supportedMethods.some((m: string) => m.startsWith('chat.'))).toBe(false);
    const info = await getJson('/agent-info');
    const listed = info.body.agents.find((a: { agentId: string }) => a.agentId === 'slow');
    expect(listed.supportedMethods).toEqual(slow.body.supportedMethods);

    await arcd.close();
    arcd = await startArcd({
      config: { auth: 'required', jwtSecret: 'a discovery test secret, long enough for HS256' },
    });
    const guarded = await getJson('/.well-known/agents/echo.json');
    expect(guarded.body.authentication.schemes).toEqual(['bearer']);
    expect(guarded.body.authentication.scopes).toEqual(
      expect.arrayContaining(['arc.task.controller', 'arc.chat.controller', 'arc.task.notify']),
    );
  });

  test('without --public-url, cards name the Host the request carried, if it is a plain host', async () => {
    const { port } = new URL(arcd.url);
    const cardFor = (host: string) =>
      new Promise<WireJson>((resolve, reject) => {
        http
          .get({ port, path: '/.well-known/agents/echo.json', headers: { host } }, (res) => {
            let text = '';
            res.on('data', (chunk: Buffer) => (text += chunk.toString()));
            res.on('end', () => resolve(JSON.parse(text)));
          })
          .on('error', reject);
      });
    expect((await cardFor('agents.internal:9000')).url).toBe('http://agents.internal:9000/arc');
    expect((await cardFor('[::1]:8080')).url).toBe('http://[::1]:8080/arc');
    // Container names have underscores; a fully qualified name may end in a dot.
    expect((await cardFor('proj_svc_1:3000')).url).toBe('http://proj_svc_1:3000/arc');
    expect((await cardFor('agents.example.com.')).url).toBe('http://agents.example.com./arc');
    for (const odd of ['evil.example/steal?', 'user@evil.example', 'a b', 'host:port:9']) {
      const card = await cardFor(odd);
      expect(card.url).toBe(`${arcd.url}/arc`);
      expect(card.provider.url).toBe(arcd.url);
    }
  });

  test('with --public-url, cards name it whatever Host the request carried', async () => {
    const fronted = await startArcd({ config: { publicUrl: 'https://agents.example.com/' } });
    const { port } = new URL(fronted.url);
    const card = await new Promise<WireJson>((resolve, reject) => {
      http
        .get(
          { port, path: '/.well-known/agents/echo.json', headers: { host: 'evil.example' } },
          (res) => {
            let text = '';
            res.on('data', (chunk: Buffer) => (text += chunk.toString()));
            res.on('end', () => resolve(JSON.parse(text)));
          },
        )
        .on('error', reject);
    });
    expect(card.url).toBe('https://agents.example.com/arc');
    expect(card.provider.url).toBe('https://agents.example.com');
    await fronted.close();
  });
});
