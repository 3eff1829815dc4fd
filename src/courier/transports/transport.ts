import type { Redactor } from '../redact.ts';

/** What a transport delivers: one rendered message to exactly one recipient. */
export interface OutgoingMessage {
  id: string;
  recipient: string;
  subject: string;
  text: string;
  html?: string | null;
  templateType: string;
  templateData?: Record<string, unknown> | null;
  /** `sms` goes through `courier.channels[id=sms]`; anything else is e-mail. */
  channel?: string | null;
}

export interface Transport {
  readonly name: 'smtp' | 'http' | 'channels';
  /** Resolves once the server accepted the message; rejects with a DeliveryError otherwise. */
  send(message: OutgoingMessage): Promise<void>;
  /** Redacts the transport's credentials from any text (errors, logs). */
  readonly redactor: Redactor;
  /** Checks that the server is reachable again without sending anything (SMTP: connect, EHLO, TLS, AUTH). */
  probe?(): Promise<void>;
  close(): Promise<void>;
}

/**
 * A failed delivery. `permanent` failures (the server refused the recipient) are not retried; `outage` failures
 * (no answer, connection refused, 421/502/503/504) say nothing about the message, only that the server is away.
 */
export class DeliveryError extends Error {
  readonly permanent: boolean;
  readonly outage: boolean;
  constructor(message: string, options: { permanent?: boolean; outage?: boolean } = {}) {
    super(message);
    this.name = 'DeliveryError';
    this.permanent = options.permanent ?? false;
    this.outage = options.outage ?? false;
  }
}

/**
 * Routes each message to its channel's transport (`sms` to `courier.channels[id=sms]`, the rest to e-mail). A message
 * for a channel that is not configured fails for good: retrying cannot make it deliverable.
 */
export function routeByChannel(transports: { email?: Transport; sms?: Transport }): Transport {
  const all = [transports.email, transports.sms].filter((t): t is Transport => t !== undefined);
  const pick = (message: OutgoingMessage) => (message.channel === 'sms' ? transports.sms : transports.email);
  return {
    name: 'channels',
    redactor: { redact: (text: string) => all.reduce((out, t) => t.redactor.redact(out), text) } as Transport['redactor'],
    async send(message) {
      const transport = pick(message);
      if (!transport) throw new DeliveryError(`no courier channel is configured for ${message.channel === 'sms' ? 'sms (courier.channels)' : 'e-mail (courier.smtp / courier.http)'}`, { permanent: true });
      await transport.send(message);
    },
    probe: transports.email?.probe ? () => transports.email!.probe!.call(transports.email) : undefined,
    async close() {
      await Promise.all(all.map((t) => t.close()));
    },
  };
}
