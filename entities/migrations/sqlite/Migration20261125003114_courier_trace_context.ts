import { Migration } from '@mikro-orm/migrations';

export class Migration20261125003114_courier_trace_context extends Migration {

  override async up(): Promise<void> {
    this.addSql(`alter table \`courier_messages\` add column \`trace_context\` json null;`);
  }

}
