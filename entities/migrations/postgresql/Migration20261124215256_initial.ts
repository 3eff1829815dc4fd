import { Migration } from '@mikro-orm/migrations';

export class Migration20261124215256_initial extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table "courier_messages" ("id" uuid not null, "type" varchar(16) not null, "status" varchar(16) not null, "recipient" varchar(400) not null, "subject" text not null, "body" text not null, "html_body" text null, "template_type" varchar(64) not null, "template_data" jsonb null, "channel" varchar(32) null, "send_count" int not null default 0, "next_attempt_at" timestamptz not null, "lease_until" timestamptz null, "leased_by" varchar(64) null, "created_at" timestamptz not null, "updated_at" timestamptz not null, constraint "courier_messages_pkey" primary key ("id"));`);
    this.addSql(`create index "courier_messages_recipient_index" on "courier_messages" ("recipient");`);
    this.addSql(`create index "courier_messages_created_at_index" on "courier_messages" ("created_at");`);
    this.addSql(`create index "courier_messages_status_next_attempt_at_index" on "courier_messages" ("status", "next_attempt_at");`);

    this.addSql(`create table "courier_message_dispatches" ("id" uuid not null, "message_id" uuid not null, "status" varchar(16) not null, "error" jsonb null, "created_at" timestamptz not null, "updated_at" timestamptz not null, constraint "courier_message_dispatches_pkey" primary key ("id"));`);
    this.addSql(`create index "courier_message_dispatches_message_id_index" on "courier_message_dispatches" ("message_id");`);

    this.addSql(`create table "selfservice_flows" ("id" uuid not null, "kind" varchar(16) not null, "type" varchar(16) not null, "state" varchar(64) not null, "request_url" text not null, "return_to" text null, "csrf_token" varchar(64) null, "identity_id" uuid null, "snapshot" jsonb not null, "issued_at" timestamptz not null, "expires_at" timestamptz not null, "created_at" timestamptz not null, "updated_at" timestamptz not null, "version" int not null default 1, constraint "selfservice_flows_pkey" primary key ("id"));`);
    this.addSql(`create index "selfservice_flows_identity_id_index" on "selfservice_flows" ("identity_id");`);

    this.addSql(`create table "identities" ("id" uuid not null, "schema_id" varchar(2048) not null, "state" varchar(32) not null, "state_changed_at" timestamptz null, "traits" jsonb not null, "metadata_public" jsonb null, "metadata_admin" jsonb null, "external_id" varchar(255) null, "organization_id" uuid null, "created_at" timestamptz not null, "updated_at" timestamptz not null, constraint "identities_pkey" primary key ("id"));`);
    this.addSql(`alter table "identities" add constraint "identities_external_id_unique" unique ("external_id");`);
    this.addSql(`create index "identities_created_at_index" on "identities" ("created_at");`);

    this.addSql(`create table "identity_credentials" ("id" uuid not null, "identity_id" uuid not null, "type" varchar(32) not null, "config" jsonb not null, "version" int not null default 0, "created_at" timestamptz not null, "updated_at" timestamptz not null, constraint "identity_credentials_pkey" primary key ("id"));`);
    this.addSql(`alter table "identity_credentials" add constraint "identity_credentials_identity_id_type_unique" unique ("identity_id", "type");`);

    this.addSql(`create table "identity_credential_identifiers" ("id" uuid not null, "credential_id" uuid not null, "identity_id" uuid not null, "type" varchar(32) not null, "identifier" varchar(512) not null, "created_at" timestamptz not null, "updated_at" timestamptz not null, constraint "identity_credential_identifiers_pkey" primary key ("id"));`);
    this.addSql(`create index "identity_credential_identifiers_identity_id_index" on "identity_credential_identifiers" ("identity_id");`);
    this.addSql(`alter table "identity_credential_identifiers" add constraint "identity_credential_identifiers_type_identifier_uq" unique ("type", "identifier");`);

    this.addSql(`create table "identity_recovery_addresses" ("id" uuid not null, "identity_id" uuid not null, "via" varchar(16) not null, "value" varchar(400) not null, "created_at" timestamptz not null, "updated_at" timestamptz not null, constraint "identity_recovery_addresses_pkey" primary key ("id"));`);
    this.addSql(`create index "identity_recovery_addresses_identity_id_index" on "identity_recovery_addresses" ("identity_id");`);
    this.addSql(`alter table "identity_recovery_addresses" add constraint "identity_recovery_addresses_via_value_uq" unique ("via", "value");`);

    this.addSql(`create table "selfservice_codes" ("id" uuid not null, "flow_id" uuid not null, "purpose" varchar(16) not null, "kind" varchar(8) not null, "via" varchar(16) not null, "address" varchar(400) not null, "identity_id" uuid null, "secret_hmac" varchar(128) not null, "failed_attempts" int not null default 0, "expires_at" timestamptz not null, "used_at" timestamptz null, "created_at" timestamptz not null, "updated_at" timestamptz not null, constraint "selfservice_codes_pkey" primary key ("id"));`);
    this.addSql(`create index "selfservice_codes_flow_id_index" on "selfservice_codes" ("flow_id");`);
    this.addSql(`create index "selfservice_codes_purpose_address_created_at_index" on "selfservice_codes" ("purpose", "address", "created_at");`);

    this.addSql(`create table "selfservice_errors" ("id" uuid not null, "error" jsonb not null, "csrf_token" varchar(64) null, "seen_at" timestamptz null, "created_at" timestamptz not null, "updated_at" timestamptz not null, constraint "selfservice_errors_pkey" primary key ("id"));`);

    this.addSql(`create table "sessions" ("id" uuid not null, "token_hash" varchar(64) not null, "logout_token_hash" varchar(64) not null, "identity_id" uuid not null, "active" boolean not null, "aal" varchar(8) not null, "authentication_methods" jsonb not null, "devices" jsonb not null, "authenticated_at" timestamptz not null, "issued_at" timestamptz not null, "expires_at" timestamptz not null, "created_at" timestamptz not null, "updated_at" timestamptz not null, constraint "sessions_pkey" primary key ("id"));`);
    this.addSql(`alter table "sessions" add constraint "sessions_token_hash_unique" unique ("token_hash");`);
    this.addSql(`alter table "sessions" add constraint "sessions_logout_token_hash_unique" unique ("logout_token_hash");`);
    this.addSql(`create index "sessions_identity_id_index" on "sessions" ("identity_id");`);

    this.addSql(`create table "identity_verifiable_addresses" ("id" uuid not null, "identity_id" uuid not null, "via" varchar(16) not null, "value" varchar(400) not null, "verified" boolean not null default false, "verified_at" timestamptz null, "status" varchar(16) not null, "created_at" timestamptz not null, "updated_at" timestamptz not null, constraint "identity_verifiable_addresses_pkey" primary key ("id"));`);
    this.addSql(`create index "identity_verifiable_addresses_identity_id_index" on "identity_verifiable_addresses" ("identity_id");`);
    this.addSql(`alter table "identity_verifiable_addresses" add constraint "identity_verifiable_addresses_via_value_uq" unique ("via", "value");`);

    this.addSql(`alter table "courier_message_dispatches" add constraint "courier_message_dispatches_message_id_foreign" foreign key ("message_id") references "courier_messages" ("id") on update cascade on delete cascade;`);

    this.addSql(`alter table "identity_credentials" add constraint "identity_credentials_identity_id_foreign" foreign key ("identity_id") references "identities" ("id") on update cascade on delete cascade;`);

    this.addSql(`alter table "identity_credential_identifiers" add constraint "identity_credential_identifiers_credential_id_foreign" foreign key ("credential_id") references "identity_credentials" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "identity_credential_identifiers" add constraint "identity_credential_identifiers_identity_id_foreign" foreign key ("identity_id") references "identities" ("id") on update cascade on delete cascade;`);

    this.addSql(`alter table "identity_recovery_addresses" add constraint "identity_recovery_addresses_identity_id_foreign" foreign key ("identity_id") references "identities" ("id") on update cascade on delete cascade;`);

    this.addSql(`alter table "sessions" add constraint "sessions_identity_id_foreign" foreign key ("identity_id") references "identities" ("id") on update cascade on delete cascade;`);

    this.addSql(`alter table "identity_verifiable_addresses" add constraint "identity_verifiable_addresses_identity_id_foreign" foreign key ("identity_id") references "identities" ("id") on update cascade on delete cascade;`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "courier_message_dispatches" drop constraint "courier_message_dispatches_message_id_foreign";`);

    this.addSql(`alter table "identity_credentials" drop constraint "identity_credentials_identity_id_foreign";`);

    this.addSql(`alter table "identity_credential_identifiers" drop constraint "identity_credential_identifiers_identity_id_foreign";`);

    this.addSql(`alter table "identity_recovery_addresses" drop constraint "identity_recovery_addresses_identity_id_foreign";`);

    this.addSql(`alter table "sessions" drop constraint "sessions_identity_id_foreign";`);

    this.addSql(`alter table "identity_verifiable_addresses" drop constraint "identity_verifiable_addresses_identity_id_foreign";`);

    this.addSql(`alter table "identity_credential_identifiers" drop constraint "identity_credential_identifiers_credential_id_foreign";`);

    this.addSql(`drop table if exists "courier_messages" cascade;`);

    this.addSql(`drop table if exists "courier_message_dispatches" cascade;`);

    this.addSql(`drop table if exists "selfservice_flows" cascade;`);

    this.addSql(`drop table if exists "identities" cascade;`);

    this.addSql(`drop table if exists "identity_credentials" cascade;`);

    this.addSql(`drop table if exists "identity_credential_identifiers" cascade;`);

    this.addSql(`drop table if exists "identity_recovery_addresses" cascade;`);

    this.addSql(`drop table if exists "selfservice_codes" cascade;`);

    this.addSql(`drop table if exists "selfservice_errors" cascade;`);

    this.addSql(`drop table if exists "sessions" cascade;`);

    this.addSql(`drop table if exists "identity_verifiable_addresses" cascade;`);
  }

}
