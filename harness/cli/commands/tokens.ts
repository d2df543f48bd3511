import type { Command } from 'commander';
import { loadConfig } from '../../config/config.ts';
import { storePath } from '../../store/database.ts';
import { Store } from '../../store/store.ts';
import { TokensRepo } from '../../store/tokens-repo.ts';
import { reportError } from './run.ts';

function withTokens<T>(fn: (tokens: TokensRepo) => T): T {
  const store = Store.open(storePath(loadConfig().home));
  try {
    return fn(new TokensRepo(store.db));
  } finally {
    store.close();
  }
}

/** `devlab tokens`: API bearer tokens per partner; only their hashes are stored. */
export function registerTokensCommands(program: Command): void {
  const tokens = program.command('tokens').description('API bearer tokens per partner (stored hashed)');
  tokens
    .command('create')
    .description('create a token; it is printed once and cannot be shown again')
    .requiredOption('--partner <id>', 'partner the token acts for')
    .option('--role <role>', 'partner | admin', 'partner')
    .addHelpText(
      'after',
      '\nExample:\n  $ devlab tokens create --partner acme\n  $ DEVLAB_TOKEN=dlb_... devlab run submit -q "tag:smoke" --wait',
    )
    .action((opts: { partner: string; role: 'partner' | 'admin' }) => {
      try {
        const created = withTokens((t) => t.create(opts.partner, opts.role));
        process.stdout.write(`${created.id} ${created.partner} ${created.role}\n${created.token}\n`);
      } catch (err) {
        reportError(err);
      }
    });
  tokens
    .command('list')
    .description('tokens (never their values)')
    .option('--partner <id>', 'only this partner')
    .option('--all', 'include revoked tokens')
    .action((opts: { partner?: string; all?: boolean }) => {
      const rows = withTokens((t) =>
        t.list({ ...(opts.partner ? { partner: opts.partner } : {}), includeRevoked: opts.all === true }),
      );
      for (const r of rows) {
        process.stdout.write(
          `${r.id} ${r.partner} ${r.role} created ${new Date(r.createdAt).toISOString()}${r.revokedAt ? ' revoked' : ''}\n`,
        );
      }
    });
  tokens
    .command('revoke <id>')
    .description('revoke a token')
    .action((id: string) => {
      const ok = withTokens((t) => t.revoke(id));
      process.stdout.write(ok ? `revoked ${id}\n` : `no active token ${id}\n`);
      process.exitCode = ok ? 0 : 1;
    });
}
