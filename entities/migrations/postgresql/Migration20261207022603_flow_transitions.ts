import { Migration } from '@mikro-orm/migrations';

export class Migration20261207022603_flow_transitions extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table "selfservice_flow_transitions" ("id" uuid not null, "flow_id" uuid not null, "flow_version" int not null, "position" int not null, "event" varchar(64) not null, "from_state" varchar(128) not null, "to_state" varchar(128) not null, "method" varchar(64) null, "created_at" timestamptz not null, constraint "selfservice_flow_transitions_pkey" primary key ("id"));`);
    this.addSql(`create index "selfservice_flow_transitions_flow_id_flow_version__809c6_index" on "selfservice_flow_transitions" ("flow_id", "flow_version", "position");`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "selfservice_flow_transitions" cascade;`);
  }

}
