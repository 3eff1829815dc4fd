import { Migration } from '@mikro-orm/migrations';

export class Migration20261206215232_flow_internal extends Migration {

  override async up(): Promise<void> {
    this.addSql(`alter table \`selfservice_flows\` add column \`internal\` text null;`);
  }

}
