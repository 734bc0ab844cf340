import { upgradeDeployment, type UpgradeResult, type UpgradeTarget } from '../../engine/updates/upgrade.js';
import { newDeploymentLine } from '../../engine/deployments/deploy.js';
import { renderDiffBlocks } from '../render/package-diff.js';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { InputError } from '../../errors.js';
import type { UpdateDriver } from '../../engine/updates/driver.js';
import { isRunningSystem } from '../../engine/deployments/running-system.js';
import { commandLine, commandTitle, rebootIfAsked, refuseRefreshWithCacheOnly, transactionOptions, type CommandContext } from '../context.js';
import type { ArgsOf, OptionArgs } from '../spec-types.js';
import type { DEPLOY, MOVE_OPTIONS, REBASE, UPGRADE } from '../specs/upgrade.js';

/** What upgrade, deploy and rebase read; --check is upgrade's only, --disallow-downgrade deploy's and rebase's. */
type MoveArgs = OptionArgs<typeof MOVE_OPTIONS> & { readonly check?: boolean; readonly preview?: boolean; readonly disallowDowngrade?: boolean };

export async function run(ctx: CommandContext<ArgsOf<typeof UPGRADE>>): Promise<number> {
  if (ctx.args.triggerAutomaticUpdatePolicy) return automatic(ctx);
  return move(ctx, { kind: 'upgrade' });
}

/** --trigger-automatic-update-policy: the policy decides between nothing, a check and a staged upgrade. */
async function automatic(ctx: CommandContext<ArgsOf<typeof UPGRADE>>): Promise<number> {
  const { check, preview, downloadOnly } = ctx.args;
  const clash = Object.entries({ check, preview, 'download-only': downloadOnly }).flatMap(([o, given]) => (given ? [o] : []));
  if (clash.length) {
    throw new InputError(
      `--trigger-automatic-update-policy cannot be combined with ${clash.map((o) => `--${o}`).join(' or ')}: AutomaticUpdatePolicy decides what to do.`,
      'Use `apt-ostree upgrade --check --preview` to check by hand, or set AutomaticUpdatePolicy in apt-ostree.conf(5).',
    );
  }
  // Only AutomaticUpdatePolicy=apply reboots, as its RebootStrategy allows.
  if (ctx.args.reboot) ctx.reporter.warn('--reboot is ignored with --trigger-automatic-update-policy: AutomaticUpdatePolicy=apply reboots as [Updates] RebootStrategy allows, the other policies never.');
  const { runAutomaticUpdate, describeNonePolicy } = await import('../../engine/updates/auto-update.js');
  const outcome = await runAutomaticUpdate({
    ...transactionOptions(ctx),
    cacheOnly: ctx.args.cacheOnly,
    unchangedExit77: ctx.args.unchangedExit77,
  });
  ctx.reporter.end();
  if (!outcome.result && !outcome.apply) {
    process.stdout.write(describeNonePolicy(outcome));
    return 0;
  }
  process.stdout.write(`${outcome.result ? renderUpgrade(outcome.result) : ''}${outcome.apply ? `${outcome.apply.message}\n` : ''}`);
  if (outcome.policy === 'check') process.stdout.write('Recorded as the cached update (`apt-ostree status` shows it); nothing was deployed.\n');
  return 0;
}

export async function runDeploy(ctx: CommandContext<ArgsOf<typeof DEPLOY>>): Promise<number> {
  const { revision, registerDriver } = ctx.args;
  if (registerDriver !== undefined) {
    // `deploy --register-driver=NAME ""` only registers (Zincati's call, src/rpm_ostree/cli_deploy.rs).
    const driver = await register(ctx, registerDriver);
    if (!revision) {
      process.stdout.write(`Registered ${driver['driver-name']}${driver['driver-sd-unit'] ? ` (${driver['driver-sd-unit']})` : ''} as the driver of updates.\n`);
      return 0;
    }
  } else if (!revision) {
    throw new InputError('deploy needs the REVISION to deploy.', 'Give a checksum (revision=CHECKSUM) or a version (version=VERSION) of the ref\'s history, e.g. `apt-ostree deploy version=2.0`.');
  }
  return move(ctx, { kind: 'deploy', revision });
}

/** --register-driver: recorded under the sysroot lock, as the transaction of the deploy would be. */
async function register(ctx: CommandContext<ArgsOf<typeof DEPLOY>>, name: string): Promise<UpdateDriver> {
  const [{ Transaction }, { registerUpdateDriver }] = await Promise.all([import('../../engine/transaction/transaction.js'), import('../../engine/updates/driver.js')]);
  return Transaction.run({ ...transactionOptions({ ...ctx, args: { ...ctx.args, lockFinalization: false } }, 'register-driver'), command: commandLine() }, async () =>
    registerUpdateDriver(ctx.sysroot, name, { booted: isRunningSystem(ctx.sysroot) }),
  );
}

export async function runRebase(ctx: CommandContext<ArgsOf<typeof REBASE>>): Promise<number> {
  const { refspec, revision, skipPurge, url, gpgImport, noVerify } = ctx.args;
  if (gpgImport !== undefined && !existsSync(gpgImport)) throw new InputError(`The key file ${gpgImport} does not exist.`, 'Give the path of an exported GPG public key.');
  if (url !== undefined && !/^(https?|file):\/\/\S+$/.test(url)) throw new InputError(`'${url}' is not an http, https or file URL.`, 'Give the URL of the repository REMOTE pulls from.');
  if (noVerify && url === undefined) throw new InputError('--no-verify is for a remote that rebase adds or changes with --url.', 'Give --url URL with it, or leave it out.');
  if (noVerify && gpgImport !== undefined) throw new InputError('--no-verify turns verification off; it cannot be given with --gpg-import.', 'Give a key to verify with (--gpg-import FILE), or --no-verify to accept unsigned content, not both.');
  const remoteSetup = url !== undefined || gpgImport !== undefined ? { url, gpgImport: gpgImport !== undefined ? resolve(gpgImport) : undefined, noVerify } : undefined;
  return move(ctx, { kind: 'rebase', refspec, revision, skipPurge, remoteSetup });
}

async function move(ctx: CommandContext<MoveArgs>, target: UpgradeTarget): Promise<number> {
  // --preview is a check that also lists the package changes, as rpm-ostree's (upgrade and deploy).
  const check = ctx.args.check === true || ctx.args.preview === true;
  refuseRefreshWithCacheOnly(ctx.args);
  const options = transactionOptions(ctx, commandTitle(ctx));
  if (!check) {
    const { refuseBesideDriver } = await import('../../engine/updates/driver.js');
    refuseBesideDriver(ctx.sysroot, { booted: isRunningSystem(ctx.sysroot), bypass: ctx.args.bypassDriver, command: ctx.command });
  }
  const result = await upgradeDeployment({
    ...options,
    target,
    check,
    preview: ctx.args.preview === true,
    cacheOnly: ctx.args.cacheOnly, downloadOnly: ctx.args.downloadOnly, refreshLists: ctx.args.refresh,
    allowDowngrade: ctx.args.allowDowngrade,
    disallowDowngrade: ctx.args.disallowDowngrade === true,
    unchangedExit77: ctx.args.unchangedExit77,
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
    out.push(`${r.target === 'upgrade' ? 'Update available' : 'Would deploy'} for ${r.refspec}:`, `  Version: ${version(r.newVersion, r.newBase)}`, `  Current: ${version(r.oldVersion, r.oldBase)}`);
    if (r.diff) out.push(renderDiffBlocks(r.diff).trimEnd());
    return out.filter(Boolean).join('\n') + '\n';
  }
  if (r.downloadOnly) return `Downloaded ${version(r.newVersion, r.newBase)}; nothing was deployed.\n`;
  if (r.newBase !== r.oldBase) out.push(`Base: ${version(r.oldVersion, r.oldBase)} -> ${version(r.newVersion, r.newBase)}`);
  if (r.transferred && r.newBase !== r.oldBase) out.push(`Downloaded: ${r.transferred}`);
  if (r.diff) out.push(renderDiffBlocks(r.diff).trimEnd());
  out.push(newDeploymentLine(r), 'Run `systemctl reboot` to start using it.');
  return out.filter(Boolean).join('\n') + '\n';
}
