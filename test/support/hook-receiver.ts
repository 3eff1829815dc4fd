/**
 * A web hook receiver on loopback: records every request and answers as its path (or a test) says. The model replays
 * (test/e2e/model, test/unit/flows) arm it to refuse the next hook call of a flow in Kratos's interrupt shape.
 */
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { HOOK_REFUSAL } from './flow-models.ts';
import { until } from './until.ts';

export interface Received {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface Answer {
  status: number;
  body?: unknown;
}

/**
 * Answers `/status/NNN` with that status, `/model/<flow>` with 200 unless armed by refuseNext(), and any path a test
 * set with answer(); 200 `{}` otherwise.
 */
export class HookReceiver {
  readonly received: Received[] = [];
  readonly #answers = new Map<string, (req: Received) => Answer>();
  #refusing = 0;
  #server: Server | undefined;

  async listen(): Promise<string> {
    this.#server = createServer((req: IncomingMessage, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const received = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
        this.received.push(received);
        const answer = this.#answer(received);
        res.writeHead(answer.status, { 'content-type': 'application/json' }).end(answer.body === undefined ? '' : JSON.stringify(answer.body));
      });
    });
    await new Promise<void>((resolve) => this.#server!.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  #answer(req: Received): Answer {
    const custom = this.#answers.get(req.path.split('?')[0]);
    if (custom) return custom(req);
    const status = /^\/status\/(\d{3})/.exec(req.path)?.[1];
    if (status) return { status: Number(status), body: {} };
    const model = /^\/model\/(\w+)/.exec(req.path)?.[1];
    if (model && this.#refusing > 0) {
      this.#refusing--;
      // Registration's refusal names the e-mail field; the others the whole form.
      return { status: 400, body: { messages: [{ instance_ptr: model === 'registration' ? '#/traits/email' : '#/', messages: [{ ...HOOK_REFUSAL, context: {} }] }] } };
    }
    return { status: 200, body: {} };
  }

  /** The next `/model/<flow>` call answers with Kratos's interrupt shape. */
  refuseNext(): void {
    this.#refusing++;
  }

  answer(path: string, fn: (req: Received) => Answer): void {
    this.#answers.set(path, fn);
  }

  at(path: string): Received[] {
    return this.received.filter((r) => r.path === path);
  }

  waitFor(path: string, count = 1): Promise<Received[]> {
    return until(async () => this.at(path), (calls) => calls.length >= count, 5000, `${count} request(s) to ${path}`);
  }

  close(): Promise<void> {
    return new Promise((resolve) => (this.#server ? this.#server.close(() => resolve()) : resolve()));
  }
}

/** A `can_interrupt` web hook of `flow` calling the receiver's `/model/<flow>`. */
export const modelHook = (base: string, flow: 'login' | 'registration' | 'settings') =>
  ({ hook: 'web_hook', config: { url: `${base}/model/${flow}`, method: 'POST', can_interrupt: true } });

/** The model's flows config: every machine's `running_hooks` state is reachable through the receiver's hooks. */
export const modelHookFlows = (base: string) => ({
  registration: {
    after: {
      password: { hooks: [modelHook(base, 'registration'), { hook: 'show_verification_ui' }, { hook: 'session' }] },
      code: { hooks: [modelHook(base, 'registration'), { hook: 'session' }] },
    },
  },
  login: { after: { hooks: [modelHook(base, 'login')] } },
  settings: { privileged_session_max_age: '5m', after: { hooks: [modelHook(base, 'settings')] } },
});

/** The model's refusals: the receiver is armed, then the client does what the passing action does. */
export const HOOK_REFUSALS: Record<string, string> = {
  'submit the password of an account a hook refuses': 'submit correct password',
  'submit the authenticator code of an account a hook refuses': 'submit the authenticator code',
  'submit a password sign-up a hook refuses': 'submit valid password',
  'change the name to one a hook refuses': 'change the name',
};
