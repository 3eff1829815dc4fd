import { fileURLToPath } from 'node:url';
import { UNSUPPORTED_RULES, type UnsupportedRule } from '../../../config/unsupported.ts';

/** README's "Refused and ignored keys" table (between `<!-- unsupported-config:begin/end -->`), from the rule list. */
export function renderUnsupportedTable(rules: readonly UnsupportedRule[] = UNSUPPORTED_RULES): string {
  const rows = rules.map((rule) => `| \`${rule.path}\` | ${rule.condition} | ${rule.action === 'refuse' ? 'refused' : 'warning'} | ${rule.why} |`);
  return ['| key | when | idflow | why |', '|---|---|---|---|', ...rows].join('\n') + '\n';
}

/** `npx tsx test/unit/config/unsupported-table.ts` prints the table to paste into README.md. */
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) process.stdout.write(renderUnsupportedTable());
