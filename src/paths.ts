/**
 * Where arcd's own files live (migrations, schemas), found from this file whether it runs as
 * TypeScript from src/ or compiled from dist/src/.
 */
import fs from 'node:fs';
import path from 'node:path';

function findProjectRoot(start: string): string {
  let dir = start;
  for (;;) {
    if (fs.existsSync(path.join(dir, 'migrations')) && fs.existsSync(path.join(dir, 'schemas'))) {
      return dir;
    }
    const parent = path.dirname(dir);
    if (parent === dir)
      throw new Error(`arcd: cannot find migrations/ and schemas/ above ${start}`);
    dir = parent;
  }
}

export const projectRoot = findProjectRoot(__dirname);
export const migrationsDir = path.join(projectRoot, 'migrations');
export const schemasDir = path.join(projectRoot, 'schemas');
/** The bundled agents: agents/*.ts beside src/ under ts, dist/agents/*.js when compiled. */
export const bundledAgentsDir = path.resolve(__dirname, '..', 'agents');
