/**
 * Jsonnet is an optional package (src/hooks/jsonnet.ts): tests that evaluate Jsonnet need it. Where it is missing
 * they are skipped with this reason, printed once per file, except in CI, which installs it (`.ci/run`:
 * `npm run jsonnet:install`) and must run every one of them.
 */
import { jsonnetEvaluatorProblem } from '../../src/hooks/jsonnet.ts';

export const jsonnetMissing: string | undefined = jsonnetEvaluatorProblem();

if (jsonnetMissing) {
  if (process.env.CI) throw new Error(`CI runs every Jsonnet test: ${jsonnetMissing}`);
  console.warn(`Skipping the tests that evaluate Jsonnet: ${jsonnetMissing}`);
}
