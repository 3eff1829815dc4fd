import type { CourierDispatchRecord, CourierMessageRecord } from '../persistence/store.ts';

/** A message as Kratos's admin API shows it (OpenAPI `message`); `body` is the plaintext body. */
export interface MessageJson {
  id: string;
  recipient: string;
  subject: string;
  body: string;
  type: 'email' | 'phone';
  channel?: string;
  status: string;
  template_type: string;
  send_count: number;
  created_at: string;
  updated_at: string;
  dispatches: Array<{ id: string; message_id: string; status: 'failed' | 'success'; error?: unknown; created_at: string; updated_at: string }>;
}

export function toMessageJson(message: CourierMessageRecord, dispatches: CourierDispatchRecord[]): MessageJson {
  return {
    id: message.id,
    recipient: message.recipient,
    subject: message.subject,
    body: message.body,
    type: message.type,
    ...(message.channel ? { channel: message.channel } : {}),
    status: message.status,
    template_type: message.templateType,
    send_count: message.sendCount,
    created_at: message.createdAt.toISOString(),
    updated_at: message.updatedAt.toISOString(),
    dispatches: dispatches.map((d) => ({
      id: d.id,
      message_id: message.id,
      status: d.status,
      ...(d.error === null || d.error === undefined ? {} : { error: d.error }),
      created_at: d.createdAt.toISOString(),
      updated_at: d.updatedAt.toISOString(),
    })),
  };
}
