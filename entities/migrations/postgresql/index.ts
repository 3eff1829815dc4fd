import type { MigrationObject } from '@mikro-orm/core';
import { Migration20261124215256_initial } from './Migration20261124215256_initial.ts';
import { Migration20261125003115_courier_trace_context } from './Migration20261125003115_courier_trace_context.ts';
import { Migration20261206215233_flow_internal } from './Migration20261206215233_flow_internal.ts';
import { Migration20261207022603_flow_transitions } from './Migration20261207022603_flow_transitions.ts';
import { Migration20261207022734_session_token_exchanges } from './Migration20261207022734_session_token_exchanges.ts';
import { Migration20261207024500_rate_limits } from './Migration20261207024500_rate_limits.ts';
import { Migration20261208011826_identity_public_json } from './Migration20261208011826_identity_public_json.ts';

export const postgresqlMigrations: MigrationObject[] = [
  { name: 'Migration20261124215256_initial', class: Migration20261124215256_initial },
  { name: 'Migration20261125003115_courier_trace_context', class: Migration20261125003115_courier_trace_context },
  { name: 'Migration20261206215233_flow_internal', class: Migration20261206215233_flow_internal },
  { name: 'Migration20261207022603_flow_transitions', class: Migration20261207022603_flow_transitions },
  { name: 'Migration20261207022734_session_token_exchanges', class: Migration20261207022734_session_token_exchanges },
  { name: 'Migration20261207024500_rate_limits', class: Migration20261207024500_rate_limits },
  { name: 'Migration20261208011826_identity_public_json', class: Migration20261208011826_identity_public_json },
];
