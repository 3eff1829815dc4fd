import { Migration } from '@mikro-orm/migrations';

export class Migration20261207022734_session_token_exchanges extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table "session_token_exchanges" ("id" uuid not null, "flow_id" uuid not null, "init_code_hash" varchar(64) not null, "return_to_code_hash" varchar(64) null, "session_id" uuid null, "expires_at" timestamptz not null, "used_at" timestamptz null, "created_at" timestamptz not null, "updated_at" timestamptz not null, constraint "session_token_exchanges_pkey" primary key ("id"));`);
    this.addSql(`create index "session_token_exchanges_flow_id_index" on "session_token_exchanges" ("flow_id");`);
    this.addSql(`alter table "session_token_exchanges" add constraint "session_token_exchanges_init_code_hash_unique" unique ("init_code_hash");`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "session_token_exchanges" cascade;`);
  }

}
