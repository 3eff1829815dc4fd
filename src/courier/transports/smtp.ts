import type { Transporter } from 'nodemailer';
import type SMTPTransport from 'nodemailer/lib/smtp-transport/index.js';
import type { CourierConfig } from '../../../config/types.ts';
import { Redactor } from '../redact.ts';
import { recipientProblem } from '../recipient.ts';
import { headerSafe } from '../templates.ts';
import { DeliveryError, type OutgoingMessage, type Transport } from './transport.ts';

/** Settings read from `courier.smtp.connection_uri` (Kratos's query parameters). */
export interface SmtpConnection {
  secure: boolean;
  host: string;
  port: number;
  user?: string;
  password?: string;
  startTls: 'required' | 'off';
  skipSslVerify: boolean;
  serverName?: string;
}

export class SmtpConfigError extends Error {}

/**
 * `smtp://user:pass@host:port/` = STARTTLS required (cleartext only with `?disable_starttls=true`);
 * `smtps://` = implicit TLS. `skip_ssl_verify=true` accepts any certificate, `server_name` sets SNI and the name the
 * certificate is checked against. Without a port: 587 (smtp) or 465 (smtps). Messages never contain the URI.
 */
export function parseSmtpUri(uri: string): SmtpConnection {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    throw new SmtpConfigError('courier.smtp.connection_uri is not a valid URL');
  }
  if (url.protocol !== 'smtp:' && url.protocol !== 'smtps:') throw new SmtpConfigError('courier.smtp.connection_uri must use smtp:// or smtps://');
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (!host) throw new SmtpConfigError('courier.smtp.connection_uri has no host');
  const flag = (name: string) => {
    const value = url.searchParams.get(name);
    if (value === null || value === '') return false;
    if (!/^(true|false|1|0|t|f)$/i.test(value)) throw new SmtpConfigError(`courier.smtp.connection_uri: ${name} must be true or false`);
    return /^(true|1|t)$/i.test(value);
  };
  const secure = url.protocol === 'smtps:';
  return {
    secure,
    host,
    port: url.port ? Number(url.port) : secure ? 465 : 587,
    user: url.username ? decodeURIComponent(url.username) : undefined,
    password: url.password ? decodeURIComponent(url.password) : undefined,
    startTls: !secure && flag('disable_starttls') ? 'off' : 'required',
    skipSslVerify: flag('skip_ssl_verify'),
    serverName: url.searchParams.get('server_name') || undefined,
  };
}

const HEADER_NAME = /^[!-9;-~]+$/;
const RESERVED_HEADERS = new Set(['to', 'cc', 'bcc', 'from', 'sender', 'reply-to', 'subject', 'message-id', 'date', 'content-type', 'content-transfer-encoding', 'mime-version']);

export interface SmtpTransportOptions {
  /** Per-connection timeouts (ms); defaults suit a remote relay. */
  timeouts?: { connection?: number; greeting?: number; socket?: number };
}

export function createSmtpTransport(config: CourierConfig, options: SmtpTransportOptions = {}): Transport {
  const smtp = config.smtp;
  if (!smtp.connection_uri) throw new SmtpConfigError('courier.smtp.connection_uri is not set: e-mails cannot be sent');
  const connection = parseSmtpUri(smtp.connection_uri);
  const redactor = new Redactor([connection.password, connection.user && connection.password ? `\u0000${connection.user}\u0000${connection.password}` : undefined]);
  const fromProblem = recipientProblem(smtp.from_address);
  if (fromProblem) throw new SmtpConfigError(`courier.smtp.from_address is not a plain e-mail address (${fromProblem.replace('the recipient', 'it')})`);
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(smtp.headers ?? {})) {
    if (!HEADER_NAME.test(name)) throw new SmtpConfigError(`courier.smtp.headers: "${headerSafe(name)}" is not a valid header name`);
    if (RESERVED_HEADERS.has(name.toLowerCase())) throw new SmtpConfigError(`courier.smtp.headers: ${name} cannot be set`);
    headers[name] = headerSafe(String(value));
  }
  const fromDomain = smtp.from_address.slice(smtp.from_address.lastIndexOf('@') + 1);
  const transportOptions: SMTPTransport.Options = {
    host: connection.host,
    port: connection.port,
    secure: connection.secure,
    requireTLS: !connection.secure && connection.startTls === 'required',
    ignoreTLS: !connection.secure && connection.startTls === 'off',
    tls: {
      rejectUnauthorized: !connection.skipSslVerify,
      servername: connection.serverName ?? (/^[0-9.:]+$/.test(connection.host) ? undefined : connection.host),
    },
    name: smtp.local_name ?? 'localhost',
    auth: connection.user !== undefined ? { user: connection.user, pass: connection.password ?? '' } : undefined,
    connectionTimeout: options.timeouts?.connection ?? 15_000,
    greetingTimeout: options.timeouts?.greeting ?? 15_000,
    socketTimeout: options.timeouts?.socket ?? 30_000,
    disableFileAccess: true,
    disableUrlAccess: true,
    logger: false,
    debug: false,
  };
  // nodemailer is loaded with the first message or probe: a courier with nothing to send never holds it.
  let transporter: Promise<Transporter<SMTPTransport.SentMessageInfo, SMTPTransport.Options>> | undefined;
  const connect = () => (transporter ??= import('nodemailer').then(({ default: nodemailer }) => nodemailer.createTransport(transportOptions)));
  const from = { name: headerSafe(smtp.from_name ?? ''), address: smtp.from_address };

  return {
    name: 'smtp',
    redactor,
    async send(message: OutgoingMessage) {
      // Re-checked at send time (Kratos does too): a row written by anything else never reaches the parser.
      const problem = recipientProblem(message.recipient);
      if (problem) throw new DeliveryError(`refusing to send: ${problem}`, { permanent: true });
      const smtpTransport = await connect();
      try {
        await smtpTransport.sendMail({
          from,
          // One address object: nodemailer does not re-parse it, so `To` and RCPT TO are exactly the stored recipient.
          to: { name: '', address: message.recipient },
          envelope: { from: smtp.from_address, to: [message.recipient] },
          subject: headerSafe(message.subject),
          text: message.text,
          html: message.html ?? undefined,
          headers,
          messageId: `<${message.id}@${fromDomain}>`,
          disableFileAccess: true,
          disableUrlAccess: true,
        });
      } catch (err) {
        const e = err as { code?: string; responseCode?: number; command?: string; message?: string };
        const permanent = e.code === 'EENVELOPE' && typeof e.responseCode === 'number' && e.responseCode >= 500 && /RCPT/i.test(e.command ?? '');
        const outage = e.responseCode === undefined || e.responseCode === 421;
        const text = `${e.code ? e.code + ': ' : ''}${e.message ?? String(err)}`;
        throw new DeliveryError(redactor.redact(text).slice(0, 2000), { permanent, outage });
      }
    },
    async probe() {
      const smtpTransport = await connect();
      try {
        await smtpTransport.verify();
      } catch (err) {
        throw new DeliveryError(redactor.redact((err as Error).message ?? String(err)), { outage: true });
      }
    },
    async close() {
      (await transporter?.catch(() => undefined))?.close();
    },
  };
}
