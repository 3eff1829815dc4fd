import { Migration } from '@mikro-orm/migrations';

export class Migration20261125003115_courier_trace_context extends Migration {

  override async up(): Promise<void> {
    this.addSql(`alter table "courier_messages" add column "trace_context" jsonb null;`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "courier_messages" drop column "trace_context";`);
  }

}
