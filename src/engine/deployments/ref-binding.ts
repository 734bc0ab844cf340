/**
 * Bound commits: compose writes `ostree.ref-binding` (the ref a commit was made for, and
 * `ostree.collection-binding` where the repository has a collection id) into every commit it
 * publishes, under the commit's signature. A server that moves one ref to another ref's signed
 * commit (a stream to a newer image of another stream) is refused here, though the signature
 * is good. libostree refuses such a commit itself when it pulls by ref name (refusedBinding
 * turns its message into ours); a commit fetched by checksum (deploy REVISION) or taken from the
 * repository as it is (--cache-only) is checked by checkRefBinding.
 *
 * A commit with no binding at all (older images, commits made with --no-bindings) is accepted:
 * there is nothing to check it against. Layered commits made on the client (aptostree/* refs)
 * are unbound: they never travel through a pull, and their refs are renamed as layers come and go.
 */
import { AptOstreeError, ToolError } from '../../errors.js';
import { metadataStrings } from '../../ostree/commit.js';
import { parseRefspec } from '../../ostree/refs.js';
import type { Sysroot } from './sysroot.js';

/** ostree's metadata key of the refs a commit is bound to (OSTREE_COMMIT_META_KEY_REF_BINDING). */
export const REF_BINDING_KEY = 'ostree.ref-binding';

function boundElsewhere(checksum: string, remote: string, ref: string, bound: readonly string[], cause?: ToolError): AptOstreeError {
  return new AptOstreeError(
    `Refused commit ${checksum} for ${remote}:${ref}: it is bound to ${bound.join(', ')} (${REF_BINDING_KEY}), not to ${ref}, so the server offers another ref's commit under this one; nothing was deployed.`,
    {
      hint: `Do not use this server until it is checked (a ref moved by its publisher by mistake, or a tampered server); to follow ${bound[0]}, rebase to it: apt-ostree rebase ${remote}:${bound[0]}.`,
      detail: cause?.detail,
      cause,
    },
  );
}

/**
 * Refuse CHECKSUM as the commit of REFSPEC (REMOTE:REF) when it is bound to other refs. Only
 * commits from a remote are checked: a local ref holds what the admin put there.
 */
export function checkRefBinding(sysroot: Sysroot, checksum: string, refspec: string): void {
  const parsed = parseRefspec(refspec);
  if (!parsed?.remote) return;
  const commit = sysroot.commit(checksum);
  if (!commit || commit.metadata[REF_BINDING_KEY] === undefined) return;
  const bound = metadataStrings(commit, REF_BINDING_KEY);
  if (!bound.includes(parsed.ref)) throw boundElsewhere(checksum, parsed.remote, parsed.ref, bound);
}

/** libostree's refusal of a bound commit pulled for another ref ("Commit X: Commit has no requested ref ‘R’ in ref binding metadata (‘A’, ‘B’)"). */
const LIBOSTREE_REFUSAL = /Commit ([0-9a-f]{64}): Commit has no requested ref .(.+?). in ref binding metadata \((.*)\)/;

/** A pull's failure, said as refusal of a commit bound to another ref when libostree stopped it for that. */
export function refusedBinding(e: unknown, o: { remote: string; ref: string }): AptOstreeError | undefined {
  if (!(e instanceof ToolError)) return undefined;
  const m = LIBOSTREE_REFUSAL.exec(`${e.stderr}\n${e.stdout}`);
  if (!m) return undefined;
  const bound = [...m[3]!.matchAll(/[‘'"]([^’'"]+)[’'"]/g)].map((x) => x[1]!);
  return boundElsewhere(m[1]!, o.remote, o.ref, bound.length ? bound : [m[3]!], e);
}
