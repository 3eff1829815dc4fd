import type { CourierConfig } from '../../../config/types.ts';
import { Redactor } from '../redact.ts';
import { DeliveryError, type OutgoingMessage, type Transport } from './transport.ts';
import { outboundSecrets, requestAuth } from '../../x/request-auth.ts';
import { createOutboundGuard, type OutboundGuard } from '../../x/outbound-guard.ts';
import { sendRequest, type OutboundResponse } from '../../x/outbound-request.ts';
import { evaluateJsonnet, loadJsonnetSource } from '../../hooks/jsonnet.ts';

/** Kratos's default `courier.http.request_config.body` (a jsonnet file): the only body idflow produces. */
export const KRATOS_DEFAULT_HTTP_BODY = 'base64://ZnVuY3Rpb24oY3R4KSB7CiAgcmVjaXBpZW50OiBjdHgucmVjaXBpZW50LAogIHRlbXBsYXRlX3R5cGU6IGN0eC50ZW1wbGF0ZV90eXBlLAogIHRvOiBpZiAidGVtcGxhdGVfZGF0YSIgaW4gY3R4ICYmICJ0byIgaW4gY3R4LnRlbXBsYXRlX2RhdGEgdGhlbiBjdHgudGVtcGxhdGVfZGF0YS50byBlbHNlIG51bGwsCiAgcmVjb3ZlcnlfY29kZTogaWYgInRlbXBsYXRlX2RhdGEiIGluIGN0eCAmJiAicmVjb3ZlcnlfY29kZSIgaW4gY3R4LnRlbXBsYXRlX2RhdGEgdGhlbiBjdHgudGVtcGxhdGVfZGF0YS5yZWNvdmVyeV9jb2RlIGVsc2UgbnVsbCwKICByZWNvdmVyeV91cmw6IGlmICJ0ZW1wbGF0ZV9kYXRhIiBpbiBjdHggJiYgInJlY292ZXJ5X3VybCIgaW4gY3R4LnRlbXBsYXRlX2RhdGEgdGhlbiBjdHgudGVtcGxhdGVfZGF0YS5yZWNvdmVyeV91cmwgZWxzZSBudWxsLAogIHZlcmlmaWNhdGlvbl91cmw6IGlmICJ0ZW1wbGF0ZV9kYXRhIiBpbiBjdHggJiYgInZlcmlmaWNhdGlvbl91cmwiIGluIGN0eC50ZW1wbGF0ZV9kYXRhIHRoZW4gY3R4LnRlbXBsYXRlX2RhdGEudmVyaWZpY2F0aW9uX3VybCBlbHNlIG51bGwsCiAgdmVyaWZpY2F0aW9uX2NvZGU6IGlmICJ0ZW1wbGF0ZV9kYXRhIiBpbiBjdHggJiYgInZlcmlmaWNhdGlvbl9jb2RlIiBpbiBjdHgudGVtcGxhdGVfZGF0YSB0aGVuIGN0eC50ZW1wbGF0ZV9kYXRhLnZlcmlmaWNhdGlvbl9jb2RlIGVsc2UgbnVsbCwKICBzdWJqZWN0OiBjdHguc3ViamVjdCwKICBib2R5OiBjdHguYm9keQp9Cg==';

export class HttpConfigError extends Error {}

type HttpRequestConfig = NonNullable<NonNullable<CourierConfig['http']>['request_config']>;

/** The JSON body: what Kratos's default jsonnet produces for a message. */
export function httpPayload(message: OutgoingMessage): Record<string, unknown> {
  const data = message.templateData ?? {};
  const pick = (key: string) => (key in data ? data[key] : null);
  return {
    recipient: message.recipient,
    template_type: message.templateType,
    to: pick('to'),
    recovery_code: pick('recovery_code'),
    recovery_url: pick('recovery_url'),
    verification_url: pick('verification_url'),
    verification_code: pick('verification_code'),
    subject: message.subject,
    body: message.text,
  };
}

/** What a courier Jsonnet body is called with (Kratos's httpDataModel: `function(ctx)`). */
export function jsonnetContext(message: OutgoingMessage): Record<string, unknown> {
  return {
    recipient: message.recipient,
    subject: message.subject,
    body: message.text,
    ...(message.html ? { html_body: message.html } : {}),
    template_type: message.templateType,
    template_data: message.templateData ?? {},
    message_type: message.channel === 'sms' ? 'phone' : 'email',
    request_headers: {},
  };
}

/**
 * `courier.delivery_strategy: http`: each message is one request to `courier.http.request_config.url`
 * (method, headers, `auth` api_key/basic_auth as for web hooks). A 2xx answer is a delivery; anything else fails
 * the attempt. `clients.http.disallow_private_ip_ranges` applies as it does to web hooks. A Jsonnet `body`
 * (`file://` or `base64://`) is called with Kratos's context, as web hook bodies are; without one, Kratos's default
 * payload is sent.
 */
export function createHttpTransport(config: CourierConfig, options: { timeoutMs?: number; guard?: OutboundGuard } = {}): Transport {
  return createRequestTransport(config.http?.request_config, 'courier.http.request_config', options);
}

/** One HTTP request per message to `request` (`courier.http.request_config`, or a channel's `request_config`). */
export function createRequestTransport(request: HttpRequestConfig | undefined, key: string, options: { timeoutMs?: number; guard?: OutboundGuard; cwd?: string } = {}): Transport {
  if (!request?.url) throw new HttpConfigError(`${key}.url is not set: messages cannot be sent`);
  let template: string | undefined;
  if (request.body && request.body !== KRATOS_DEFAULT_HTTP_BODY) {
    const loaded = loadJsonnetSource(request.body, options.cwd ?? process.cwd());
    if ('problem' in loaded) throw new HttpConfigError(`${key}.body: ${loaded.problem}`);
    template = loaded.source;
  }
  const url = new URL(request.url);
  const method = (request.method ?? 'POST').toUpperCase();
  let auth: ReturnType<typeof requestAuth>;
  try {
    auth = requestAuth(request.auth, `${key}.auth`);
  } catch (err) {
    throw new HttpConfigError((err as Error).message);
  }
  const headers: Record<string, string> = { ...(request.headers ?? {}), ...auth.headers, 'content-type': 'application/json' };
  const redactor = new Redactor(outboundSecrets(url, auth.secrets, request.headers));
  const timeoutMs = options.timeoutMs ?? 30_000;
  const guard = options.guard ?? createOutboundGuard({});
  /** Kratos's default payload, or what the configured Jsonnet `body` makes of Kratos's context for it. */
  const payloadOf = async (message: OutgoingMessage): Promise<unknown> => {
    if (!template) return httpPayload(message);
    try {
      return await evaluateJsonnet(template, `${key}.body`, { tla: { ctx: jsonnetContext(message) } });
    } catch (err) {
      // The same template fails the same way on every attempt.
      throw new DeliveryError(redactor.redact(`${key}.body: ${(err as Error).message}`), { permanent: true });
    }
  };
  return {
    name: 'http',
    redactor,
    async send(message) {
      const payload = method === 'GET' || method === 'HEAD' ? undefined : JSON.stringify(await payloadOf(message));
      let response: OutboundResponse;
      try {
        response = await sendRequest(url, {
          method,
          headers,
          body: payload,
          timeoutMs,
          guard,
          maxBodyBytes: 500,
        });
      } catch (err) {
        const failure = err as NodeJS.ErrnoException;
        throw new DeliveryError(redactor.redact(`HTTP request failed: ${failure.code ?? failure.message}`), { outage: failure.name !== 'PrivateAddressError' });
      }
      if (response.status < 200 || response.status >= 300) {
        throw new DeliveryError(redactor.redact(`HTTP ${response.status}${response.text ? ': ' + response.text : ''}`), { outage: [502, 503, 504].includes(response.status) });
      }
    },
    async close() {},
  };
}
