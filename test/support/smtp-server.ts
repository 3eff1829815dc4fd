/**
 * A real SMTP server on 127.0.0.1 for courier tests (the `smtp-server` package), with every accepted message
 * parsed by `mailparser`. It can go down and come back on the same port (an outage: connections are refused),
 * require authentication, speak STARTTLS or implicit TLS (smtp-server's built-in self-signed certificate), refuse
 * recipients, and hold messages before accepting them.
 */
import type { AddressInfo } from 'node:net';
import { SMTPServer, type SMTPServerOptions, type SMTPServerSession } from 'smtp-server';
import { simpleParser, type ParsedMail } from 'mailparser';

export interface CapturedMail {
  /** MAIL FROM / RCPT TO of the SMTP transaction. */
  envelope: { from: string; to: string[] };
  raw: string;
  parsed: ParsedMail;
  messageId: string;
  /** Header names as they appear in the raw message (lower-cased). */
  headerNames: string[];
  secure: boolean;
  user?: string;
}

export interface TestSmtpOptions {
  tls?: 'none' | 'starttls' | 'implicit';
  auth?: { user: string; pass: string };
  /** Reply to a failed login with this text (a server that echoes what it got). */
  authFailureText?: (user: string, pass: string) => string;
  /** Recipients refused with 550. */
  rejectRecipients?: string[];
  /** Called before a message is accepted; a promise delays the acceptance, a rejection refuses the message (451). */
  beforeAccept?: (mail: { envelope: CapturedMail['envelope'] }) => Promise<void> | void;
}

export interface TestSmtpServer {
  readonly port: number;
  /** The courier connection URI (`smtp://` with the right query for the server's TLS mode, `smtps://` for implicit). */
  uri(credentials?: { user: string; pass: string }): string;
  readonly mails: CapturedMail[];
  /** Connections opened (including refused logins). */
  readonly connections: number;
  /** Resolves when at least `count` messages were accepted. */
  waitForMails(count: number, timeoutMs?: number): Promise<CapturedMail[]>;
  /** How many accepted messages carry each Message-ID. */
  messageIdCounts(): Map<string, number>;
  /** Outage: stops listening and drops open connections. */
  down(): Promise<void>;
  /** Back on the same port. */
  up(): Promise<void>;
  readonly isUp: boolean;
  close(): Promise<void>;
}

export async function startSmtpServer(options: TestSmtpOptions = {}): Promise<TestSmtpServer> {
  const tls = options.tls ?? 'none';
  const mails: CapturedMail[] = [];
  const waiters: Array<{ count: number; resolve: () => void }> = [];
  let connections = 0;
  let server: SMTPServer | undefined;
  let port = 0;

  const notify = () => {
    for (const waiter of [...waiters]) {
      if (mails.length >= waiter.count) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
    }
  };

  const serverOptions = (): SMTPServerOptions => ({
    secure: tls === 'implicit',
    disabledCommands: tls === 'none' ? ['STARTTLS'] : [],
    authOptional: !options.auth,
    allowInsecureAuth: tls === 'none',
    logger: false,
    closeTimeout: 100,
    onConnect(_session, callback) {
      connections++;
      callback();
    },
    onAuth(auth, _session, callback) {
      if (options.auth && auth.username === options.auth.user && auth.password === options.auth.pass) {
        callback(null, { user: auth.username });
        return;
      }
      const text = options.authFailureText?.(auth.username ?? '', auth.password ?? '') ?? 'Invalid username or password';
      callback(Object.assign(new Error(text), { responseCode: 535 }));
    },
    onRcptTo(address, _session, callback) {
      if (options.rejectRecipients?.includes(address.address)) {
        callback(Object.assign(new Error(`Mailbox unavailable`), { responseCode: 550 }));
        return;
      }
      callback();
    },
    onData(stream, session: SMTPServerSession, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('error', (err) => callback(err));
      stream.on('end', () => {
        void (async () => {
          const envelope = {
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
            to: session.envelope.rcptTo.map((r) => r.address),
          };
          try {
            await options.beforeAccept?.({ envelope });
            const raw = Buffer.concat(chunks).toString('utf8');
            const parsed = await simpleParser(raw);
            const headerEnd = raw.search(/\r?\n\r?\n/);
            const headerNames = raw.slice(0, headerEnd < 0 ? raw.length : headerEnd).split(/\r?\n/)
              .filter((line) => /^[^\s:]+:/.test(line)).map((line) => line.slice(0, line.indexOf(':')).toLowerCase());
            callback();
            mails.push({ envelope, raw, parsed, messageId: parsed.messageId ?? '', headerNames, secure: session.secure, user: session.user as string | undefined });
            notify();
          } catch (err) {
            callback(err as Error);
          }
        })();
      });
    },
  });

  const listen = async () => {
    const instance = new SMTPServer(serverOptions());
    instance.on('error', () => {});
    await new Promise<void>((resolve, reject) => {
      instance.server.once('error', reject);
      instance.listen(port, '127.0.0.1', () => {
        instance.server.off('error', reject);
        resolve();
      });
    });
    port = (instance.server.address() as AddressInfo).port;
    server = instance;
  };
  const shutdown = async () => {
    const instance = server;
    server = undefined;
    if (!instance) return;
    await new Promise<void>((resolve) => instance.close(() => resolve()));
  };

  await listen();

  return {
    get port() {
      return port;
    },
    uri(credentials) {
      const auth = credentials ? `${encodeURIComponent(credentials.user)}:${encodeURIComponent(credentials.pass)}@` : '';
      if (tls === 'implicit') return `smtps://${auth}127.0.0.1:${port}/?skip_ssl_verify=true`;
      if (tls === 'starttls') return `smtp://${auth}127.0.0.1:${port}/?skip_ssl_verify=true`;
      return `smtp://${auth}127.0.0.1:${port}/?disable_starttls=true`;
    },
    mails,
    get connections() {
      return connections;
    },
    waitForMails(count, timeoutMs = 20_000) {
      if (mails.length >= count) return Promise.resolve(mails);
      return new Promise((resolve, reject) => {
        const waiter = { count, resolve: () => { clearTimeout(timer); resolve(mails); } };
        const timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(waiter), 1);
          reject(new Error(`expected ${count} mails within ${timeoutMs} ms, got ${mails.length}`));
        }, timeoutMs);
        waiters.push(waiter);
      });
    },
    messageIdCounts() {
      const counts = new Map<string, number>();
      for (const mail of mails) counts.set(mail.messageId, (counts.get(mail.messageId) ?? 0) + 1);
      return counts;
    },
    down: shutdown,
    up: listen,
    get isUp() {
      return server !== undefined;
    },
    close: shutdown,
  };
}

/** Courier worker settings for tests: fast polling, short leases and back-off. */
export const FAST_WORKER = { pull_wait: '50ms', lease: '2s', retry: { initial_backoff: '100ms', max_backoff: '400ms', min_age: '0s' } };

/**
 * The six-digit code in the `n`-th mail (1-based) to `to` whose text starts with `startsWith` (any mail when omitted),
 * once it arrived (polled for up to 10 s).
 */
export async function mailedCode(smtp: TestSmtpServer, to: string, n = 1, startsWith = ''): Promise<string> {
  for (let i = 0; i < 400; i++) {
    const mails = smtp.mails.filter((m) => m.envelope.to.includes(to) && (m.parsed.text ?? '').startsWith(startsWith));
    if (mails.length >= n) return /\b(\d{6})\b/.exec(mails[n - 1].parsed.text ?? '')![1];
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`expected ${n} mails to ${to}`);
}
