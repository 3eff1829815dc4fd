import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { packageRoot } from '../x/paths.ts';
import { compileTemplate, snakeCase, TemplateError, type CompiledTemplate } from './template-engine.ts';

/** Message types idflow sends (Kratos's `template_type`). */
export const TEMPLATE_TYPES = [
  'recovery_valid', 'recovery_invalid',
  'recovery_code_valid', 'recovery_code_invalid',
  'verification_valid', 'verification_invalid',
  'verification_code_valid', 'verification_code_invalid',
  'login_code_valid', 'registration_code_valid',
  // idflow's own (Kratos has none): a sign-up with a taken identifier under account-enumeration mitigation, and a
  // completed recovery. Laid out like Kratos's variant-less templates (`verifiable_address_changed/email.*.gotmpl`).
  'registration_attempted', 'account_recovered',
] as const;
export type TemplateType = (typeof TEMPLATE_TYPES)[number];

/**
 * What a message is rendered from (Kratos's template models, JSON names). `to` is always the recipient.
 * In templates the Go names are used: `{{ .RecoveryCode }}`, `{{ .Identity.traits.email }}`, ...
 */
export interface TemplateData {
  recovery_code?: string;
  recovery_url?: string;
  verification_code?: string;
  verification_url?: string;
  login_code?: string;
  registration_code?: string;
  /** The identity as its JSON (`traits`, `id`, ...). */
  identity?: Record<string, unknown>;
  /** registration_code_valid: the traits submitted. */
  traits?: Record<string, unknown>;
  request_url?: string;
  transient_payload?: Record<string, unknown>;
  expires_in_minutes?: number;
}

const COMMON = ['To', 'RequestURL', 'TransientPayload'] as const;

interface TypeSpec {
  /** `courier.templates.<group>[.<variant>]` and the override directory `<group>/[<variant>/]`. */
  group: 'recovery' | 'recovery_code' | 'verification' | 'verification_code' | 'login_code' | 'registration_code' | 'registration_attempted' | 'account_recovered';
  variant?: 'valid' | 'invalid';
  /** Go field names the template may use. */
  fields: readonly string[];
  /** Data keys an enqueue must supply. */
  required: ReadonlyArray<keyof TemplateData>;
}

const valid = (extra: string[]) => [...COMMON, 'Identity', 'ExpiresInMinutes', ...extra];

export const TEMPLATE_SPECS: Record<TemplateType, TypeSpec> = {
  recovery_valid: { group: 'recovery', variant: 'valid', fields: valid(['RecoveryURL']), required: ['recovery_url'] },
  recovery_invalid: { group: 'recovery', variant: 'invalid', fields: COMMON, required: [] },
  recovery_code_valid: { group: 'recovery_code', variant: 'valid', fields: valid(['RecoveryCode']), required: ['recovery_code'] },
  recovery_code_invalid: { group: 'recovery_code', variant: 'invalid', fields: COMMON, required: [] },
  verification_valid: { group: 'verification', variant: 'valid', fields: valid(['VerificationURL']), required: ['verification_url'] },
  verification_invalid: { group: 'verification', variant: 'invalid', fields: COMMON, required: [] },
  verification_code_valid: { group: 'verification_code', variant: 'valid', fields: valid(['VerificationCode', 'VerificationURL']), required: ['verification_code'] },
  verification_code_invalid: { group: 'verification_code', variant: 'invalid', fields: COMMON, required: [] },
  login_code_valid: { group: 'login_code', variant: 'valid', fields: valid(['LoginCode']), required: ['login_code'] },
  registration_code_valid: { group: 'registration_code', variant: 'valid', fields: [...COMMON, 'Traits', 'ExpiresInMinutes', 'RegistrationCode'], required: ['registration_code'] },
  registration_attempted: { group: 'registration_attempted', fields: [...COMMON, 'Identity'], required: [] },
  account_recovered: { group: 'account_recovered', fields: [...COMMON, 'Identity'], required: [] },
};

/** `courier.templates.<group>[.<variant>]` of a message type; its override directory is the same path. */
const templatePath = (spec: TypeSpec): string[] => (spec.variant ? [spec.group, spec.variant] : [spec.group]);

/**
 * `data` reduced to the JSON keys of Kratos's model for `type` (`to`, `recovery_code`, `identity`, ...): what is
 * stored as the message's template data and sent by the HTTP delivery strategy. Kratos's models have no other keys,
 * so, for example, a recovery code message carries no `recovery_url` even when the caller built one.
 */
export function templateModel(type: TemplateType, data: Record<string, unknown>): Record<string, unknown> {
  const model: Record<string, unknown> = {};
  for (const field of TEMPLATE_SPECS[type].fields) {
    const key = snakeCase(field);
    if (Object.hasOwn(data, key) && data[key] !== undefined) model[key] = data[key];
  }
  return model;
}

/** Message types that also go by SMS (Kratos's `<group>/<variant>/sms.body.gotmpl`). */
export const SMS_TEMPLATE_TYPES: readonly TemplateType[] = ['login_code_valid', 'registration_code_valid', 'verification_code_valid'];
const SMS_FILE = 'sms.body.gotmpl';

type Part = 'subject' | 'html' | 'plaintext';
const FILES: Record<Part, string> = { subject: 'email.subject.gotmpl', html: 'email.body.gotmpl', plaintext: 'email.body.plaintext.gotmpl' };

export const BUILT_IN_TEMPLATE_DIR = join(packageRoot, 'src', 'courier', 'templates');

export interface RenderedMessage {
  subject: string;
  text: string;
  html: string;
}

export interface TemplateSources {
  /** `courier.templates` (URLs per group/variant/part). */
  templates?: Record<string, unknown>;
  /** `courier.template_override_path`. */
  overridePath?: string;
  /** Directory relative `file://` URLs resolve against (the working directory by default). */
  cwd?: string;
}

/** Removes what could end or fold a header line: CR, LF, other C0/C1 controls and Unicode line separators. */
export function headerSafe(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g, ' ').replace(/ {2,}/g, ' ').trim();
}

/** Reads a `file://` (absolute, or `file://./relative`) or `base64://` template URL. */
export function readTemplateUrl(url: string, what: string, cwd = process.cwd()): string {
  if (url.startsWith('base64://')) {
    const encoded = url.slice('base64://'.length);
    if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(encoded)) throw new TemplateError(`${what}: the base64:// value is not valid base64`);
    return Buffer.from(encoded, encoded.includes('-') || encoded.includes('_') ? 'base64url' : 'base64').toString('utf8');
  }
  if (url.startsWith('file://')) {
    const rest = url.slice('file://'.length);
    const path = rest.startsWith('/') ? fileURLToPath(url) : resolve(cwd, decodeURIComponent(rest));
    try {
      return readFileSync(path, 'utf8');
    } catch (err) {
      throw new TemplateError(`${what}: cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  }
  throw new TemplateError(`${what}: only file:// and base64:// template URLs are supported`);
}

function configBlock(templates: Record<string, unknown> | undefined, spec: TypeSpec): Record<string, unknown> | undefined {
  let block: unknown = templates;
  for (const key of templatePath(spec)) block = (block as Record<string, unknown> | undefined)?.[key];
  return block as Record<string, unknown> | undefined;
}

function configUrl(templates: Record<string, unknown> | undefined, spec: TypeSpec, part: Part): string | undefined {
  const variant = configBlock(templates, spec);
  const email = variant?.email as { subject?: unknown; body?: { html?: unknown; plaintext?: unknown } } | undefined;
  const value = part === 'subject' ? email?.subject : email?.body?.[part];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/**
 * The compiled templates of every message type: `courier.templates.*` URLs first, then files under
 * `template_override_path` (Kratos's layout `<group>/<valid|invalid>/email.*.gotmpl`), then the built-ins.
 * Everything is read and compiled once, at start-up; a problem throws TemplateError naming the template.
 */
export class TemplateSet {
  readonly #compiled = new Map<string, CompiledTemplate>();

  constructor(sources: TemplateSources = {}) {
    const overrideDir = sources.overridePath
      ? (isAbsolute(sources.overridePath) ? sources.overridePath : resolve(sources.cwd ?? process.cwd(), sources.overridePath))
      : undefined;
    if (overrideDir && !existsSync(overrideDir)) throw new TemplateError(`courier.template_override_path: ${overrideDir} does not exist`);
    // One source per template: a `courier.templates.*` URL, else the override directory's file, else the built-in.
    const load = (spec: TypeSpec, file: string, configKey: string, url: unknown): { name: string; source: string } => {
      const relative = join(...templatePath(spec), file);
      if (typeof url === 'string' && url !== '') return { name: configKey, source: readTemplateUrl(url, configKey, sources.cwd) };
      if (overrideDir && existsSync(join(overrideDir, relative))) return { name: join(overrideDir, relative), source: readFileSync(join(overrideDir, relative), 'utf8') };
      return { name: `built-in ${relative}`, source: readFileSync(join(BUILT_IN_TEMPLATE_DIR, relative), 'utf8') };
    };
    for (const type of TEMPLATE_TYPES) {
      const spec = TEMPLATE_SPECS[type];
      for (const part of Object.keys(FILES) as Part[]) {
        const key = `courier.templates.${templatePath(spec).join('.')}.email.${part === 'subject' ? 'subject' : `body.${part}`}`;
        const { name, source } = load(spec, FILES[part], key, configUrl(sources.templates, spec, part));
        this.#compiled.set(`${type}:${part}`, compileTemplate(source, { name, fields: spec.fields }));
      }
    }
    for (const type of SMS_TEMPLATE_TYPES) {
      const spec = TEMPLATE_SPECS[type];
      const variant = configBlock(sources.templates, spec) as { sms?: { body?: { plaintext?: unknown } } } | undefined;
      const { name, source } = load(spec, SMS_FILE, `courier.templates.${templatePath(spec).join('.')}.sms.body.plaintext`, variant?.sms?.body?.plaintext);
      this.#compiled.set(`${type}:sms`, compileTemplate(source, { name, fields: [...spec.fields, 'RequestURLDomain'] }));
    }
  }

  /** The text of an SMS (values as they are); only the SMS_TEMPLATE_TYPES have one. */
  renderSms(type: TemplateType, data: Record<string, unknown>): string {
    const template = this.#compiled.get(`${type}:sms`);
    if (!template) throw new Error(`courier: ${type} messages are not sent by SMS`);
    return template.render(data, { escape: 'none' });
  }

  /**
   * Renders subject (CR/LF and controls removed), plaintext (values as they are) and HTML (every value escaped).
   * `data` uses Kratos's JSON names; `to` is the recipient.
   */
  render(type: TemplateType, data: Record<string, unknown>): RenderedMessage {
    const get = (part: Part) => {
      const template = this.#compiled.get(`${type}:${part}`);
      if (!template) throw new Error(`unknown courier template type ${type}`);
      return template;
    };
    return {
      subject: headerSafe(get('subject').render(data, { escape: 'none' })),
      text: get('plaintext').render(data, { escape: 'none' }),
      html: get('html').render(data, { escape: 'html' }),
    };
  }
}
