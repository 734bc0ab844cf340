// Every external program is started through a wrapper in src/system/, and only system/run.ts
// starts one (src/README.md). Read from the sources as they are, with TypeScript's parser (a
// regular expression would be fooled by comments and strings): outside src/system/ no module
// imports a starting function of system/run.ts (or the sandbox's runInSandbox) nor calls a
// run-like function with a literal program name, and outside system/run.ts nothing reaches
// node:child_process or execa, statically, dynamically or through process.getBuiltinModule.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const SRC = resolve(import.meta.dirname, '../../src');
const SYSTEM = join(SRC, 'system');
const RUN = join(SYSTEM, 'run.ts');

/** What a module outside src/system/ may take from a module of it: names that start no program. */
const ALLOWED_OUTSIDE_SYSTEM: Record<string, readonly string[]> = {
  [RUN]: ['inheritLockFd', 'stopRunningPrograms'],
};
/** Names a module outside src/system/ may not import at all from these modules (they start what they are given). */
const STARTERS_OUTSIDE_RUN: Record<string, readonly string[]> = {
  [join(SYSTEM, 'bwrap.ts')]: ['runInSandbox'],
};
/** Module names that start processes. */
const PROCESS_MODULES = /^(node:)?child_process$|^execa(\/|$)/;
/** Functions that start a program when called with its name (run.ts's and child_process's). */
const STARTING_CALLS = new Set(['run', 'runSync', 'runStreaming', 'runWithDeadline', 'spawn', 'spawnSync', 'exec', 'execSync', 'execFile', 'execFileSync', 'fork', 'execa', 'execaSync']);

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? sourceFiles(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** The places in FILE (a path under src/, TEXT its source) that start a program outside the rule. */
function programStarts(file: string, text: string): string[] {
  const inSystem = file.startsWith(`${SYSTEM}/`);
  const isRun = file === RUN;
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const found: string[] = [];
  const at = (node: ts.Node, what: string) => {
    const line = sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1;
    found.push(`${relative(SRC, file)}:${line}: ${what}`);
  };
  const target = (spec: string) => (spec.startsWith('.') ? resolve(dirname(file), spec).replace(/\.js$/, '.ts') : spec);

  const checkModule = (node: ts.Node, spec: string, names: { name: string; typeOnly: boolean }[] | 'all') => {
    if (PROCESS_MODULES.test(spec)) {
      if (!isRun) at(node, `imports ${spec}`);
      return;
    }
    if (inSystem) return;
    const t = target(spec);
    const allowed = ALLOWED_OUTSIDE_SYSTEM[t];
    const forbidden = STARTERS_OUTSIDE_RUN[t];
    if (!allowed && !forbidden) return;
    if (names === 'all') {
      at(node, `imports all of ${relative(SRC, t)}`);
      return;
    }
    for (const n of names) {
      if (n.typeOnly) continue;
      if ((allowed && !allowed.includes(n.name)) || forbidden?.includes(n.name)) at(node, `imports ${n.name} from ${relative(SRC, t)}`);
    }
  };

  const visit = (node: ts.Node): void => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      const spec = node.moduleSpecifier.text;
      let names: { name: string; typeOnly: boolean }[] | 'all' = 'all';
      if (ts.isImportDeclaration(node)) {
        const clause = node.importClause;
        const typeOnly = Boolean(clause?.isTypeOnly);
        const bindings = clause?.namedBindings;
        if (clause && !clause.name && bindings && ts.isNamedImports(bindings)) {
          names = bindings.elements.map((e) => ({ name: (e.propertyName ?? e.name).text, typeOnly: typeOnly || e.isTypeOnly }));
        } else if (typeOnly) names = [];
      } else if (node.exportClause && ts.isNamedExports(node.exportClause)) {
        names = node.exportClause.elements.map((e) => ({ name: (e.propertyName ?? e.name).text, typeOnly: node.isTypeOnly || e.isTypeOnly }));
      } else if (node.isTypeOnly) names = [];
      checkModule(node, spec, names);
    } else if (ts.isCallExpression(node)) {
      const callee = node.expression;
      const first = node.arguments[0];
      const literal = first && (ts.isStringLiteral(first) || ts.isNoSubstitutionTemplateLiteral(first)) ? first.text : undefined;
      if (callee.kind === ts.SyntaxKind.ImportKeyword || (ts.isIdentifier(callee) && callee.text === 'require')) {
        // A dynamic import or require gives the whole module.
        if (literal !== undefined) checkModule(node, literal, 'all');
        else at(node, 'imports a module whose name is computed');
      } else {
        const name = ts.isIdentifier(callee) ? callee.text : ts.isPropertyAccessExpression(callee) ? callee.name.text : undefined;
        if (name === 'getBuiltinModule' && !isRun && (literal === undefined || PROCESS_MODULES.test(literal))) at(node, `loads ${literal ?? 'a computed built-in module'} through getBuiltinModule`);
        if (name === 'binding' && ts.isPropertyAccessExpression(callee) && callee.expression.getText(sf) === 'process') at(node, 'uses process.binding');
        if (name && STARTING_CALLS.has(name) && literal !== undefined && !inSystem) at(node, `starts '${literal}' with ${name}()`);
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return found;
}

describe('programs are started only through src/system/', () => {
  it('holds for every module of src/', () => {
    const found = sourceFiles(SRC).flatMap((f) => programStarts(f, readFileSync(f, 'utf8')));
    expect(found).toEqual([]);
  });

  it('run.ts itself is what the rule looks for (it loads node:child_process through getBuiltinModule)', () => {
    const text = readFileSync(RUN, 'utf8');
    expect(programStarts(join(SRC, 'engine', 'copy-of-run.ts'), text).some((f) => f.includes('getBuiltinModule'))).toBe(true);
  });

  // Planted calls: each must be found, so the rule cannot pass by finding nothing.
  const engineFile = join(SRC, 'engine', 'deployments', 'planted.ts');
  const imageFile = join(SRC, 'image', 'planted.ts');
  it.each([
    ['a static import of run', engineFile, "import { run } from '../../system/run.js';\nawait run('cp', ['-a', a, b]);"],
    ['an aliased import of run', imageFile, "import { run as runProgram } from '../system/run.js';"],
    ['a dynamic import of run.ts', engineFile, "const { run } = await import('../../system/run.js');"],
    ['a namespace import of run.ts', engineFile, "import * as r from '../../system/run.js';"],
    ['runSync', engineFile, "import { runSync } from '../../system/run.js';"],
    ['runInSandbox with an argv', engineFile, "import { runInSandbox } from '../../system/bwrap.js';"],
    ['a literal program name given to a run-like function', engineFile, "await someRunner.run('systemctl', ['reboot']);"],
    ['node:child_process', engineFile, "import { spawn } from 'node:child_process';"],
    ['child_process without node:', join(SYSTEM, 'ostree.ts'), "import cp from 'child_process';"],
    ['execa', imageFile, "import { execa } from 'execa';"],
    ['getBuiltinModule', engineFile, "const cp = process.getBuiltinModule('node:child_process');"],
    ['getBuiltinModule in another system module', join(SYSTEM, 'apt.ts'), "const cp = process.getBuiltinModule('child_process');"],
    ['a computed getBuiltinModule', engineFile, 'const cp = process.getBuiltinModule(name);'],
    ['a computed dynamic import', engineFile, 'const m = await import(name);'],
  ])('finds %s', (_what, file, text) => {
    expect(programStarts(file, text)).not.toEqual([]);
  });

  it.each([
    ['the lock descriptor', engineFile, "import { inheritLockFd } from '../../system/run.js';"],
    ['types of run.ts', imageFile, "import type { RunOptions } from '../system/run.js';\nimport { type RunResult } from '../system/run.js';"],
    ['a transaction', engineFile, 'await Transaction.run(opts, async (tx) => body(tx));'],
    ['a wrapper', engineFile, "import { rebootSystem } from '../../system/systemd.js';\nawait rebootSystem('Reboot by hand.');"],
    ['a comment or a string naming child_process', engineFile, "// node:child_process\nconst s = 'child_process';"],
    ['run.ts inside src/system/', join(SYSTEM, 'apt.ts'), "import { run } from './run.js';\nawait run('apt-get', ['update']);"],
  ])('allows %s', (_what, file, text) => {
    expect(programStarts(file, text)).toEqual([]);
  });
});
