import { upgradeDeployment, type UpgradeResult, type UpgradeTarget } from '../../engine/updates/upgrade.js';
import { renderDiffBlocks } from '../render/package-diff.js';
import { InputError } from '../../errors.js';
import { bool, commandTitle, rebootIfAsked, str, transactionOptions, type CommandContext } from '../context.js';

export async function run(ctx: CommandContext): Promise<number> {
  if (bool(ctx.argv, 'trigger-automatic-update-policy')) return automatic(ctx);
  return move(ctx, { kind: 'upgrade' });
}

/** --trigger-automatic-update-policy: the policy decides between nothing, a check and a staged upgrade. */
async function automatic(ctx: CommandContext): Promise<number> {
  const clash = ['check', 'preview', 'download-only'].filter((o) => bool(ctx.argv, o));
  if (clash.length) {
    throw new InputError(
      `--trigger-automatic-update-policy cannot be combined with ${clash.map((o) => `--${o}`).join(' or ')}: AutomaticUpdatePolicy decides what to do.`,
      'Use `apt-ostree upgrade --check --preview` to check by hand, or set AutomaticUpdatePolicy in apt-ostree.conf(5).',
    );
  }
  // Automatic updates never reboot: a staged deployment waits for the admin's reboot.
  if (bool(ctx.argv, 'reboot')) ctx.reporter.warn('--reboot is ignored with --trigger-automatic-update-policy: automatic updates never reboot.');
  const { runAutomaticUpdate, describeNonePolicy } = await import('../../engine/updates/auto-update.js');
  const outcome = await runAutomaticUpdate({
    ...transactionOptions(ctx),
    cacheOnly: bool(ctx.argv, 'cache-only'),
    unchangedExit77: bool(ctx.argv, 'unchanged-exit-77'),
  });
  ctx.reporter.end();
  if (!outcome.result) {
    process.stdout.write(describeNonePolicy(outcome));
    return 0;
  }
  process.stdout.write(renderUpgrade(outcome.result));
  if (outcome.policy === 'check') process.stdout.write('Recorded as the cached update (`apt-ostree status` shows it); nothing was deployed.\n');
  return 0;
}

export async function runDeploy(ctx: CommandContext): Promise<number> {
  return move(ctx, { kind: 'deploy', revision: str(ctx.argv, 'revision')! });
}

export async function runRebase(ctx: CommandContext): Promise<number> {
  return move(ctx, { kind: 'rebase', refspec: str(ctx.argv, 'refspec')!, revision: str(ctx.argv, 'revision'), skipPurge: bool(ctx.argv, 'skip-purge') });
}

async function move(ctx: CommandContext, target: UpgradeTarget): Promise<number> {
  const result = await upgradeDeployment({
    ...transactionOptions(ctx, commandTitle(ctx)),
    target,
    check: bool(ctx.argv, 'check'),
    preview: bool(ctx.argv, 'preview'),
    cacheOnly: bool(ctx.argv, 'cache-only'),
    downloadOnly: bool(ctx.argv, 'download-only'),
    allowDowngrade: bool(ctx.argv, 'allow-downgrade'),
    unchangedExit77: bool(ctx.argv, 'unchanged-exit-77'),
  });
  ctx.reporter.end();
  process.stdout.write(renderUpgrade(result));
  if (!result.checkOnly && !result.downloadOnly) await rebootIfAsked(ctx);
  return 0;
}

function renderUpgrade(r: UpgradeResult): string {
  const version = (v: string | undefined, c: string) => `${v ?? '(no version)'} (${c.slice(0, 12)})`;
  const out: string[] = [];
  if (r.checkOnly) {
    out.push(`Update available for ${r.refspec}:`, `  Version: ${version(r.newVersion, r.newBase)}`, `  Current: ${version(r.oldVersion, r.oldBase)}`);
    if (r.diff) out.push(renderDiffBlocks(r.diff).trimEnd());
    return out.filter(Boolean).join('\n') + '\n';
  }
  if (r.downloadOnly) return `Downloaded ${version(r.newVersion, r.newBase)}; nothing was deployed.\n`;
  if (r.newBase !== r.oldBase) out.push(`Base: ${version(r.oldVersion, r.oldBase)} -> ${version(r.newVersion, r.newBase)}`);
  if (r.diff) out.push(renderDiffBlocks(r.diff).trimEnd());
  out.push(`${r.staged ? 'Staged' : 'New'} deployment: ${r.os} ${r.newChecksum?.slice(0, 12) ?? ''} (default for the next boot; the previous one is kept for rollback)`);
  out.push('Run `systemctl reboot` to start using it.');
  return out.filter(Boolean).join('\n') + '\n';
}
