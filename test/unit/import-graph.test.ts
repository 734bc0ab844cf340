// The folders of src/ form a one-way stack (src/README.md): a module imports only from its own
// folder or from folders below it, and no two files import each other in a cycle, type
// imports included. Read from the sources as they are.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = resolve(import.meta.dirname, '../../src');
/** Bottom first, as src/README.md draws it upside down. */
const STACK = ['errors', 'hash', 'debian', 'ostree', 'system', 'output', 'layout', 'config', 'engine', 'image', 'dbus', 'cli'];

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? sourceFiles(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** Every relative import of a file (static, dynamic, type-only, re-exports), as .ts paths. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specs = [...text.matchAll(/(?:import|export)[^'";]*?from\s+'(\.[^']+)'|import\(\s*'(\.[^']+)'\s*\)/g)].map((m) => m[1] ?? m[2]!);
  return specs.map((s) => resolve(dirname(file), s).replace(/\.js$/, '.ts'));
}

/**
 * engine/ has its own stack, bottom first (src/README.md): a file imports only from its own
 * sub-folder (or top-level file) of engine/ or from those below it.
 */
const ENGINE_STACK = ['state-paths', 'transaction', 'deployments', 'health', 'layering', 'updates', 'cleanup', 'status', 'metrics'];

const folderOf = (file: string) => relative(SRC, file).split('/')[0]!.replace(/\.ts$/, '');
/** The engine sub-folder or top-level engine file a file is in; undefined outside engine/. */
const engineLevelOf = (file: string) => {
  const [top, sub] = relative(SRC, file).split('/');
  return top === 'engine' && sub ? sub.replace(/\.ts$/, '') : undefined;
};
const files = sourceFiles(SRC);
const graph = new Map(files.map((f) => [f, importsOf(f)]));

describe('the import graph of src/', () => {
  it('knows every top-level folder', () => {
    expect([...new Set(files.map(folderOf))].filter((f) => !STACK.includes(f))).toEqual([]);
  });

  it('imports only downwards between folders', () => {
    const upward: string[] = [];
    for (const [file, deps] of graph) {
      for (const dep of deps) {
        if (STACK.indexOf(folderOf(dep)) > STACK.indexOf(folderOf(file))) upward.push(`${relative(SRC, file)} → ${relative(SRC, dep)}`);
      }
    }
    expect(upward).toEqual([]);
  });

  it('knows every part of engine/', () => {
    const levels = new Set(files.map(engineLevelOf).filter((l) => l !== undefined));
    expect([...levels].filter((l) => !ENGINE_STACK.includes(l))).toEqual([]);
  });

  it('imports only downwards between the parts of engine/', () => {
    const upward: string[] = [];
    for (const [file, deps] of graph) {
      const from = engineLevelOf(file);
      if (from === undefined) continue;
      for (const dep of deps) {
        const to = engineLevelOf(dep);
        if (to !== undefined && ENGINE_STACK.indexOf(to) > ENGINE_STACK.indexOf(from)) upward.push(`${relative(SRC, file)} → ${relative(SRC, dep)}`);
      }
    }
    expect(upward).toEqual([]);
  });

  it('has no import cycle between files', () => {
    // Tarjan's strongly connected components: any component of two or more files is a cycle.
    let counter = 0;
    const index = new Map<string, number>();
    const low = new Map<string, number>();
    const stack: string[] = [];
    const cycles: string[][] = [];
    const visit = (v: string) => {
      index.set(v, counter);
      low.set(v, counter++);
      stack.push(v);
      for (const w of graph.get(v) ?? []) {
        if (!graph.has(w)) continue;
        if (!index.has(w)) {
          visit(w);
          low.set(v, Math.min(low.get(v)!, low.get(w)!));
        } else if (stack.includes(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
      if (low.get(v) === index.get(v)) {
        const component: string[] = [];
        let w: string;
        do {
          w = stack.pop()!;
          component.push(relative(SRC, w));
        } while (w !== v);
        if (component.length > 1) cycles.push(component.sort());
      }
    };
    for (const f of files) if (!index.has(f)) visit(f);
    expect(cycles).toEqual([]);
  });
});
