import { Migration } from '@mikro-orm/migrations';

export class Migration20261207022602_flow_transitions extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table \`selfservice_flow_transitions\` (\`id\` text not null, \`flow_id\` text not null, \`flow_version\` integer not null, \`position\` integer not null, \`event\` text not null, \`from_state\` text not null, \`to_state\` text not null, \`method\` text null, \`created_at\` datetime not null, primary key (\`id\`));`);
    this.addSql(`create index \`selfservice_flow_transitions_flow_id_flow_version_position_index\` on \`selfservice_flow_transitions\` (\`flow_id\`, \`flow_version\`, \`position\`);`);
  }

}
