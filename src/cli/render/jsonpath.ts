/**
 * A small, safe JSONPath subset for `status --jsonpath`: `$`, `.key`, `['key']`, `[N]`,
 * `[-N]`, `[*]` and `.*`. No filters or script expressions: nothing is evaluated.
 */
import { InputError } from '../../errors.js';

type Step = { kind: 'key'; key: string } | { kind: 'index'; index: number } | { kind: 'all' };

function parseJsonPath(expr: string): Step[] {
  const steps: Step[] = [];
  let i = 0;
  const s = expr.trim();
  if (s[0] === '$') i = 1;
  const bad = (why: string) => new InputError(`Invalid --jsonpath '${expr}': ${why}.`, "Use a path such as '$.deployments[0].checksum' or '$.deployments[*].version'.");
  while (i < s.length) {
    if (s[i] === '.') {
      i++;
      if (s[i] === '*') {
        steps.push({ kind: 'all' });
        i++;
        continue;
      }
      const m = /^[A-Za-z0-9_-]+/.exec(s.slice(i));
      if (!m) throw bad(`expected a key at position ${i}`);
      steps.push({ kind: 'key', key: m[0] });
      i += m[0].length;
    } else if (s[i] === '[') {
      const close = s.indexOf(']', i);
      if (close < 0) throw bad("missing ']'");
      const inner = s.slice(i + 1, close).trim();
      if (inner === '*') steps.push({ kind: 'all' });
      else if (/^-?\d+$/.test(inner)) steps.push({ kind: 'index', index: Number(inner) });
      else if (/^'[^']*'$|^"[^"]*"$/.test(inner)) steps.push({ kind: 'key', key: inner.slice(1, -1) });
      else throw bad(`unsupported selector [${inner}]`);
      i = close + 1;
    } else {
      throw bad(`unexpected '${s[i]}' at position ${i}`);
    }
  }
  return steps;
}

export function queryJsonPath(doc: unknown, expr: string): unknown[] {
  let current: unknown[] = [doc];
  for (const step of parseJsonPath(expr)) {
    const next: unknown[] = [];
    for (const v of current) {
      if (step.kind === 'key') {
        if (v && typeof v === 'object' && !Array.isArray(v) && Object.hasOwn(v, step.key)) next.push((v as Record<string, unknown>)[step.key]);
      } else if (step.kind === 'index') {
        if (Array.isArray(v)) {
          const idx = step.index < 0 ? v.length + step.index : step.index;
          if (idx >= 0 && idx < v.length) next.push(v[idx]);
        }
      } else if (Array.isArray(v)) next.push(...v);
      else if (v && typeof v === 'object') next.push(...Object.values(v));
    }
    current = next;
  }
  return current;
}
