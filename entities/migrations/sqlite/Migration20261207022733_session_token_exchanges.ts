import { Migration } from '@mikro-orm/migrations';

export class Migration20261207022733_session_token_exchanges extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table \`session_token_exchanges\` (\`id\` text not null, \`flow_id\` text not null, \`init_code_hash\` text not null, \`return_to_code_hash\` text null, \`session_id\` text null, \`expires_at\` datetime not null, \`used_at\` datetime null, \`created_at\` datetime not null, \`updated_at\` datetime not null, primary key (\`id\`));`);
    this.addSql(`create index \`session_token_exchanges_flow_id_index\` on \`session_token_exchanges\` (\`flow_id\`);`);
    this.addSql(`create unique index \`session_token_exchanges_init_code_hash_unique\` on \`session_token_exchanges\` (\`init_code_hash\`);`);
  }

}
