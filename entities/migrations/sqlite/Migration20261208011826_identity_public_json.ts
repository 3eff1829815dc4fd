import { Migration } from '@mikro-orm/migrations';

export class Migration20261208011826_identity_public_json extends Migration {

  override async up(): Promise<void> {
    this.addSql(`alter table \`identities\` add column \`public_json\` text null;`);
  }

}
