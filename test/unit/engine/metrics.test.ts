// The text exposition format of the metrics file: HELP and TYPE lines, label values escaped as
// the format requires (backslash, double quote, newline), special float values.
import { describe, expect, it } from 'vitest';
import { renderMetrics } from '../../../src/engine/metrics.js';

describe('metrics text format', () => {
  it('writes HELP, TYPE and samples, escaping label values', () => {
    const text = renderMetrics([
      { name: 'apt_ostree_x', type: 'gauge', help: 'A help with a \\ backslash\nand a newline', samples: [{ labels: { check: 'a "quoted" \\ name\nnext' }, value: 1 }, { value: 2.5 }] },
      { name: 'apt_ostree_empty', type: 'gauge', help: 'No samples', samples: [] },
      { name: 'apt_ostree_inf', type: 'gauge', help: 'Special values', samples: [{ value: Infinity }, { value: NaN }] },
    ]);
    expect(text).toBe(
      [
        '# HELP apt_ostree_x A help with a \\\\ backslash\\nand a newline',
        '# TYPE apt_ostree_x gauge',
        'apt_ostree_x{check="a \\"quoted\\" \\\\ name\\nnext"} 1',
        'apt_ostree_x 2.5',
        '# HELP apt_ostree_empty No samples',
        '# TYPE apt_ostree_empty gauge',
        '# HELP apt_ostree_inf Special values',
        '# TYPE apt_ostree_inf gauge',
        'apt_ostree_inf +Inf',
        'apt_ostree_inf NaN',
        '',
      ].join('\n'),
    );
  });
});
