/**
 * Loads agent modules from a folder: every .js/.cjs file (and .ts when arcd itself runs as
 * TypeScript; one file a name, the compiled .js first), each exporting an AgentDefinition as `default` or `agent`. A broken module stops
 * the start with its file name rather than being skipped silently, and so does a module this
 * arcd cannot load (an ES module, TypeScript under compiled arcd). Other files are ignored.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { AgentDefinition } from './contract';
import type { AgentRegistry } from './registry';

const runningAsTypeScript = __filename.endsWith('.ts');

/** Never a module: hidden files and TypeScript declarations. */
const ignored = (name: string) => name.endsWith('.d.ts') || name.startsWith('.');

function isAgentFile(name: string): boolean {
  if (ignored(name)) return false;
  if (/\.(c?js)$/.test(name)) return true;
  return runningAsTypeScript && name.endsWith('.ts');
}

/**
 * Why a module that looks like an agent cannot be loaded by this arcd, if it cannot: one
 * compiled beside it (`greeter.ts` next to `greeter.js`) is loaded instead, and it is not.
 */
function unloadable(name: string, names: ReadonlySet<string>): string | undefined {
  if (ignored(name)) return undefined;
  const base = name.replace(/\.[^.]+$/, '');
  if (names.has(`${base}.js`) || names.has(`${base}.cjs`)) return undefined;
  if (/\.m[jt]s$/.test(name)) return 'an ES module: write agents as CommonJS (.js or .cjs)';
  if (/\.ts$/.test(name) && !isAgentFile(name)) {
    return 'TypeScript is loaded only when arcd itself runs as TypeScript: compile it to .js';
  }
  // Skipped silently, an agent a user dropped in would just be missing.
  if (/\.(cts|tsx|jsx)$/.test(name))
    return 'not a module arcd loads: write it as .js or .cjs (or .ts)';
  return undefined;
}

/**
 * Whether `name` is the copy of a module another file of the folder is loaded as: a .ts its
 * compiled .js or .cjs sits beside, a .cjs beside a .js of the same name. One module each:
 * both would register the same agent twice.
 */
function shadowed(name: string, names: ReadonlySet<string>): boolean {
  const base = name.replace(/\.[^.]+$/, '');
  if (name.endsWith('.ts')) return names.has(`${base}.js`) || names.has(`${base}.cjs`);
  return name.endsWith('.cjs') && names.has(`${base}.js`);
}

function exportedAgent(loaded: unknown): unknown {
  const mod = loaded as { default?: unknown; agent?: unknown } | undefined;
  return mod?.default ?? mod?.agent ?? loaded;
}

export function loadAgentsFromDir(dir: string, registry: AgentRegistry): string[] {
  const absolute = path.resolve(dir);
  if (!fs.existsSync(absolute)) throw new Error(`agents folder not found: ${absolute}`);
  const loaded: string[] = [];
  const names = fs.readdirSync(absolute).sort();
  const present = new Set(names);
  for (const name of names) {
    const file = path.join(absolute, name);
    const why = unloadable(name, present);
    if (why) throw new Error(`cannot load agent from ${file}: ${why}`);
    if (!isAgentFile(name) || shadowed(name, present)) continue;
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const agent = exportedAgent(require(file)) as AgentDefinition;
      registry.register(agent);
      loaded.push(agent.id);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new Error(`cannot load agent from ${file}: ${reason}`, {
        cause: error,
      });
    }
  }
  return loaded;
}
