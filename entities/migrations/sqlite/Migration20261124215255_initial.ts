import { Migration } from '@mikro-orm/migrations';

export class Migration20261124215255_initial extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table \`courier_messages\` (\`id\` text not null, \`type\` text not null, \`status\` text not null, \`recipient\` text not null, \`subject\` text not null, \`body\` text not null, \`html_body\` text null, \`template_type\` text not null, \`template_data\` json null, \`channel\` text null, \`send_count\` integer not null default 0, \`next_attempt_at\` datetime not null, \`lease_until\` datetime null, \`leased_by\` text null, \`created_at\` datetime not null, \`updated_at\` datetime not null, primary key (\`id\`));`);
    this.addSql(`create index \`courier_messages_recipient_index\` on \`courier_messages\` (\`recipient\`);`);
    this.addSql(`create index \`courier_messages_created_at_index\` on \`courier_messages\` (\`created_at\`);`);
    this.addSql(`create index \`courier_messages_status_next_attempt_at_index\` on \`courier_messages\` (\`status\`, \`next_attempt_at\`);`);

    this.addSql(`create table \`courier_message_dispatches\` (\`id\` text not null, \`message_id\` text not null, \`status\` text not null, \`error\` json null, \`created_at\` datetime not null, \`updated_at\` datetime not null, constraint \`courier_message_dispatches_message_id_foreign\` foreign key(\`message_id\`) references \`courier_messages\`(\`id\`) on delete cascade on update cascade, primary key (\`id\`));`);
    this.addSql(`create index \`courier_message_dispatches_message_id_index\` on \`courier_message_dispatches\` (\`message_id\`);`);

    this.addSql(`create table \`selfservice_flows\` (\`id\` text not null, \`kind\` text not null, \`type\` text not null, \`state\` text not null, \`request_url\` text not null, \`return_to\` text null, \`csrf_token\` text null, \`identity_id\` text null, \`snapshot\` json not null, \`issued_at\` datetime not null, \`expires_at\` datetime not null, \`created_at\` datetime not null, \`updated_at\` datetime not null, \`version\` integer not null default 1, primary key (\`id\`));`);
    this.addSql(`create index \`selfservice_flows_identity_id_index\` on \`selfservice_flows\` (\`identity_id\`);`);

    this.addSql(`create table \`identities\` (\`id\` text not null, \`schema_id\` text not null, \`state\` text not null, \`state_changed_at\` datetime null, \`traits\` json not null, \`metadata_public\` json null, \`metadata_admin\` json null, \`external_id\` text null, \`organization_id\` text null, \`created_at\` datetime not null, \`updated_at\` datetime not null, primary key (\`id\`));`);
    this.addSql(`create unique index \`identities_external_id_unique\` on \`identities\` (\`external_id\`);`);
    this.addSql(`create index \`identities_created_at_index\` on \`identities\` (\`created_at\`);`);

    this.addSql(`create table \`identity_credentials\` (\`id\` text not null, \`identity_id\` text not null, \`type\` text not null, \`config\` json not null, \`version\` integer not null default 0, \`created_at\` datetime not null, \`updated_at\` datetime not null, constraint \`identity_credentials_identity_id_foreign\` foreign key(\`identity_id\`) references \`identities\`(\`id\`) on delete cascade on update cascade, primary key (\`id\`));`);
    this.addSql(`create index \`identity_credentials_identity_id_index\` on \`identity_credentials\` (\`identity_id\`);`);
    this.addSql(`create unique index \`identity_credentials_identity_id_type_unique\` on \`identity_credentials\` (\`identity_id\`, \`type\`);`);

    this.addSql(`create table \`identity_credential_identifiers\` (\`id\` text not null, \`credential_id\` text not null, \`identity_id\` text not null, \`type\` text not null, \`identifier\` text not null, \`created_at\` datetime not null, \`updated_at\` datetime not null, constraint \`identity_credential_identifiers_credential_id_foreign\` foreign key(\`credential_id\`) references \`identity_credentials\`(\`id\`) on delete cascade on update cascade, constraint \`identity_credential_identifiers_identity_id_foreign\` foreign key(\`identity_id\`) references \`identities\`(\`id\`) on delete cascade on update cascade, primary key (\`id\`));`);
    this.addSql(`create index \`identity_credential_identifiers_credential_id_index\` on \`identity_credential_identifiers\` (\`credential_id\`);`);
    this.addSql(`create index \`identity_credential_identifiers_identity_id_index\` on \`identity_credential_identifiers\` (\`identity_id\`);`);
    this.addSql(`create unique index \`identity_credential_identifiers_type_identifier_uq\` on \`identity_credential_identifiers\` (\`type\`, \`identifier\`);`);

    this.addSql(`create table \`identity_recovery_addresses\` (\`id\` text not null, \`identity_id\` text not null, \`via\` text not null, \`value\` text not null, \`created_at\` datetime not null, \`updated_at\` datetime not null, constraint \`identity_recovery_addresses_identity_id_foreign\` foreign key(\`identity_id\`) references \`identities\`(\`id\`) on delete cascade on update cascade, primary key (\`id\`));`);
    this.addSql(`create index \`identity_recovery_addresses_identity_id_index\` on \`identity_recovery_addresses\` (\`identity_id\`);`);
    this.addSql(`create unique index \`identity_recovery_addresses_via_value_uq\` on \`identity_recovery_addresses\` (\`via\`, \`value\`);`);

    this.addSql(`create table \`selfservice_codes\` (\`id\` text not null, \`flow_id\` text not null, \`purpose\` text not null, \`kind\` text not null, \`via\` text not null, \`address\` text not null, \`identity_id\` text null, \`secret_hmac\` text not null, \`failed_attempts\` integer not null default 0, \`expires_at\` datetime not null, \`used_at\` datetime null, \`created_at\` datetime not null, \`updated_at\` datetime not null, primary key (\`id\`));`);
    this.addSql(`create index \`selfservice_codes_flow_id_index\` on \`selfservice_codes\` (\`flow_id\`);`);
    this.addSql(`create index \`selfservice_codes_purpose_address_created_at_index\` on \`selfservice_codes\` (\`purpose\`, \`address\`, \`created_at\`);`);

    this.addSql(`create table \`selfservice_errors\` (\`id\` text not null, \`error\` json not null, \`csrf_token\` text null, \`seen_at\` datetime null, \`created_at\` datetime not null, \`updated_at\` datetime not null, primary key (\`id\`));`);

    this.addSql(`create table \`sessions\` (\`id\` text not null, \`token_hash\` text not null, \`logout_token_hash\` text not null, \`identity_id\` text not null, \`active\` integer not null, \`aal\` text not null, \`authentication_methods\` json not null, \`devices\` json not null, \`authenticated_at\` datetime not null, \`issued_at\` datetime not null, \`expires_at\` datetime not null, \`created_at\` datetime not null, \`updated_at\` datetime not null, constraint \`sessions_identity_id_foreign\` foreign key(\`identity_id\`) references \`identities\`(\`id\`) on delete cascade on update cascade, primary key (\`id\`));`);
    this.addSql(`create unique index \`sessions_token_hash_unique\` on \`sessions\` (\`token_hash\`);`);
    this.addSql(`create unique index \`sessions_logout_token_hash_unique\` on \`sessions\` (\`logout_token_hash\`);`);
    this.addSql(`create index \`sessions_identity_id_index\` on \`sessions\` (\`identity_id\`);`);

    this.addSql(`create table \`identity_verifiable_addresses\` (\`id\` text not null, \`identity_id\` text not null, \`via\` text not null, \`value\` text not null, \`verified\` integer not null default false, \`verified_at\` datetime null, \`status\` text not null, \`created_at\` datetime not null, \`updated_at\` datetime not null, constraint \`identity_verifiable_addresses_identity_id_foreign\` foreign key(\`identity_id\`) references \`identities\`(\`id\`) on delete cascade on update cascade, primary key (\`id\`));`);
    this.addSql(`create index \`identity_verifiable_addresses_identity_id_index\` on \`identity_verifiable_addresses\` (\`identity_id\`);`);
    this.addSql(`create unique index \`identity_verifiable_addresses_via_value_uq\` on \`identity_verifiable_addresses\` (\`via\`, \`value\`);`);
  }

}
