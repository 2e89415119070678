/**
 * The package's entry points, as an installed package's user imports them (`arcd`,
 * `arcd/client`, `arcd/agents`), resolved through package.json's `exports` from the compiled
 * build: an agents module can define agents and remote agents with a token.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';

const root = path.join(__dirname, '..', '..');

test('arcd, arcd/client and arcd/agents export what the README names', () => {
  const script = `
    const server = require('arcd');
    const client = require('arcd/client');
    const agents = require('arcd/agents');
    const remote = agents.createRemoteAgent({ id: 'r', endpoint: 'http://127.0.0.1:1', token: 't' });
    console.log(JSON.stringify({
      createServer: typeof server.createServer,
      ArcClient: typeof client.ArcClient,
      verifyWebhook: typeof client.verifyWebhook,
      defineAgent: typeof agents.defineAgent,
      remote: [remote.id, typeof remote.handle],
    }));`;
  const out = execFileSync(process.execPath, ['-e', script], { cwd: root }).toString();
  expect(JSON.parse(out)).toEqual({
    createServer: 'function',
    ArcClient: 'function',
    verifyWebhook: 'function',
    defineAgent: 'function',
    remote: ['r', 'function'],
  });
});
