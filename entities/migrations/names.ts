/**
 * Every migration's name, in order, per dialect: what `serve` compares with the migrations table to refuse a database
 * behind this build, without loading the migrations (they pull in @mikro-orm/migrations and its tooling). A unit test
 * keeps these lists equal to the migrations in sqlite/index.ts and postgresql/index.ts.
 */
export const MIGRATION_NAMES: Readonly<Record<'sqlite' | 'postgresql', readonly string[]>> = {
  sqlite: [
    'Migration20261124215255_initial',
    'Migration20261125003114_courier_trace_context',
    'Migration20261206215232_flow_internal',
    'Migration20261207022602_flow_transitions',
    'Migration20261207022733_session_token_exchanges',
    'Migration20261207024500_rate_limits',
    'Migration20261208011826_identity_public_json',
  ],
  postgresql: [
    'Migration20261124215256_initial',
    'Migration20261125003115_courier_trace_context',
    'Migration20261206215233_flow_internal',
    'Migration20261207022603_flow_transitions',
    'Migration20261207022734_session_token_exchanges',
    'Migration20261207024500_rate_limits',
    'Migration20261208011826_identity_public_json',
  ],
};
