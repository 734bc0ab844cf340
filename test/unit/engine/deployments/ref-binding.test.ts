// libostree's refusal of a commit bound to another ref, said as apt-ostree's refusal (the
// refusal itself, by ostree and by checkRefBinding, is in test/integration/upgrade.test.ts).
import { describe, expect, it } from 'vitest';
import { ToolError } from '../../../../src/errors.js';
import { refusedBinding } from '../../../../src/engine/deployments/ref-binding.js';

const SUM = '0a6f1a11723c96e59e2f357ea6391fe1c29d6ff990b454bda118bf6c92d95163';

describe('refusedBinding', () => {
  it('names the commit, the ref asked for and the refs the commit is bound to', () => {
    // ostree 2022.7's words, as `ostree pull origin stream/b` prints them.
    const e = new ToolError('ostree', ['pull'], { exitStatus: 1, stderr: `error: Commit ${SUM}: Commit has no requested ref ‘stream/b’ in ref binding metadata (‘stream/a’, ‘stream/c’)\n` });
    const r = refusedBinding(e, { remote: 'origin', ref: 'stream/b' });
    expect(r?.message).toBe(`Refused commit ${SUM} for origin:stream/b: it is bound to stream/a, stream/c (ostree.ref-binding), not to stream/b, so the server offers another ref's commit under this one; nothing was deployed.`);
    expect(r?.hint).toContain('apt-ostree rebase origin:stream/a');
  });

  it('leaves other failures alone', () => {
    expect(refusedBinding(new ToolError('ostree', ['pull'], { exitStatus: 1, stderr: 'error: No such branch' }), { remote: 'o', ref: 'r' })).toBeUndefined();
    expect(refusedBinding(new Error('x'), { remote: 'o', ref: 'r' })).toBeUndefined();
  });
});
