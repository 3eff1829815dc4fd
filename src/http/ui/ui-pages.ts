/**
 * The built-in UI's pages. Flows are rendered generically from their ui nodes — every node type Kratos sends (input,
 * text, img, a, script, div) and every group — so a new method appears without UI changes. Forms post straight to
 * idflow's public API (`ui.action`), as Ory's UIs do; the pages work without JavaScript except where a method needs
 * it (WebAuthn and passkeys load `webauthn.js` and are started by the nodes' triggers).
 */
import { html, raw, type Html } from './html.ts';

type Json = any;
export type FlowPageKind = 'login' | 'registration' | 'settings' | 'recovery' | 'verification';

const TITLES: Record<FlowPageKind, string> = {
  login: 'Sign in', registration: 'Create an account', settings: 'Account settings', recovery: 'Recover your account', verification: 'Verify your address',
};

/** Settings shows one form per method group (saving the profile needs no password); these are their headings. */
const GROUP_TITLES: Record<string, string> = {
  profile: 'Profile', password: 'Password', totp: 'Authenticator app', lookup_secret: 'Backup codes', webauthn: 'Security keys',
  passkey: 'Passkeys', oidc: 'Sign-in providers', code: 'One-time codes',
};

const STYLE = raw(`
:root { color-scheme: light dark; --accent: #3b5bdb; --error: #c92a2a; --ok: #2b8a3e; }
* { box-sizing: border-box; }
body { margin: 0; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; }
main { max-width: 28rem; margin: 0 auto; padding: 1.5rem 1rem 3rem; }
header { display: flex; justify-content: space-between; align-items: baseline; max-width: 28rem; margin: 0 auto; padding: 1rem 1rem 0; }
header a { text-decoration: none; font-weight: 600; }
h1 { font-size: 1.5rem; margin: 0.5rem 0 1rem; }
h2 { font-size: 1.1rem; margin: 1.5rem 0 0.5rem; }
form { display: grid; gap: 0.75rem; margin: 0 0 1rem; }
label { display: grid; gap: 0.25rem; font-weight: 500; }
input:not([type=checkbox]) { font: inherit; padding: 0.6rem 0.7rem; border: 1px solid #868e96; border-radius: 0.4rem; width: 100%; }
label.checkbox { display: flex; gap: 0.5rem; align-items: center; font-weight: 400; }
button { font: inherit; font-weight: 600; padding: 0.65rem 1rem; border: 0; border-radius: 0.4rem; background: var(--accent); color: #fff; cursor: pointer; }
button[name=resend], button[name=screen], button.secondary { background: transparent; color: var(--accent); border: 1px solid var(--accent); }
button:focus-visible, input:focus-visible, a:focus-visible { outline: 3px solid #ffd43b; outline-offset: 2px; }
.message { padding: 0.6rem 0.8rem; border-radius: 0.4rem; background: #e7f5ff; color: #1c3d5a; margin: 0 0 0.75rem; }
.message.error { background: #fff5f5; color: var(--error); }
.message.success { background: #ebfbee; color: var(--ok); }
.node-message { margin: 0; font-size: 0.9rem; color: var(--error); }
.node-message.info { color: inherit; }
.text code, code { font-family: ui-monospace, monospace; word-break: break-all; }
nav ul { list-style: none; padding: 0; display: grid; gap: 0.5rem; }
table { border-collapse: collapse; width: 100%; font-size: 0.9rem; }
td, th { text-align: left; padding: 0.4rem; border-bottom: 1px solid #dee2e6; vertical-align: top; }
pre { white-space: pre-wrap; margin: 0; }
`);

/** Wires node triggers as Ory's UIs do: `onclickTrigger` on click, `onloadTrigger` once the page (and webauthn.js) loaded. */
const TRIGGERS = raw(`<script>window.addEventListener('load', function () {
  document.querySelectorAll('[data-onclick-trigger]').forEach(function (el) { el.addEventListener('click', function () { var f = window[el.dataset.onclickTrigger]; if (f) f(); }); });
  document.querySelectorAll('[data-onload-trigger]').forEach(function (el) { var f = window[el.dataset.onloadTrigger]; if (f) f(); });
});</script>`);

export function layout(title: string, body: Html, options: { signedIn?: boolean } = {}): Html {
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · idflow</title><style>${STYLE}</style></head>
<body><header><a href="/">idflow</a>${options.signedIn ? html`<a href="/logout">Sign out</a>` : html`<a href="/login">Sign in</a>`}</header>
<main>${body}</main>${TRIGGERS}</body></html>`;
}

/** Messages, announced to screen readers (errors assertively). */
function messages(list: Json[] | undefined, className: string): Html {
  return html`${(list ?? []).map((m: Json) => html`<p class="${className} ${m.type}" role="${m.type === 'error' ? 'alert' : 'status'}" data-message-id="${m.id}">${m.text}</p>`)}`;
}

function valueText(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (Array.isArray(value)) return value.join(',');
  return typeof value === 'object' ? JSON.stringify(value) : String(value);
}

/** One node; `first` marks the first visible input (it gets the focus). */
function node(n: Json, first: boolean): Html {
  const a = n.attributes ?? {};
  const label: string | undefined = n.meta?.label?.text;
  const nodeMessages = messages(n.messages, 'node-message');
  const id = `node-${a.name ?? a.id}-${String(a.value ?? '').replace(/[^A-Za-z0-9_-]/g, '')}`;
  switch (a.node_type) {
    case 'input': {
      if (a.type === 'submit' || a.type === 'button') {
        const trigger = a.onclickTrigger ? raw(` data-onclick-trigger="${a.onclickTrigger.replace(/[^A-Za-z0-9_]/g, '')}"`) : '';
        return html`<button type="${a.type === 'button' ? 'button' : 'submit'}" name="${a.name}" value="${valueText(a.value)}"${trigger}${a.disabled ? raw(' disabled') : ''} data-group="${n.group}">${label ?? a.value}</button>${nodeMessages}`;
      }
      const invalid = (n.messages ?? []).some((m: Json) => m.type === 'error');
      const attrs = html` name="${a.name}" type="${a.type}"${a.type === 'checkbox' ? raw(' value="true"') : valueText(a.value) !== undefined ? html` value="${valueText(a.value)}"` : ''}`
        + (a.type === 'checkbox' && a.value === true ? ' checked' : '')
        + (a.required ? ' required' : '') + (a.disabled ? ' disabled' : '') + (invalid ? ' aria-invalid="true"' : '') + (first ? ' autofocus' : '');
      const extra = html`${a.autocomplete ? html` autocomplete="${a.autocomplete}"` : ''}${a.pattern ? html` pattern="${a.pattern}"` : ''}${a.maxlength ? html` maxlength="${a.maxlength}"` : ''}${a.onloadTrigger ? html` data-onload-trigger="${a.onloadTrigger}"` : ''}`;
      if (a.type === 'hidden') return html`<input${raw(attrs)}${extra}>${nodeMessages}`;
      if (a.type === 'checkbox') return html`<label class="checkbox" for="${id}"><input id="${id}"${raw(attrs)}${extra}> ${label ?? a.name}</label>${nodeMessages}`;
      return html`<label for="${id}">${label ?? a.name}<input id="${id}"${raw(attrs)}${extra}></label>${nodeMessages}`;
    }
    case 'text':
      return html`<div class="text" id="${a.id}">${label ? html`<p>${label}</p>` : ''}<p><code>${a.text?.text}</code></p></div>${nodeMessages}`;
    case 'a':
      return html`<a id="${a.id}" href="${a.href}">${a.title?.text}</a>${nodeMessages}`;
    case 'img':
      return html`<img id="${a.id}" src="${a.src}" width="${a.width}" height="${a.height}" alt="${label ?? ''}">${nodeMessages}`;
    case 'script':
      return html`<script src="${a.src}" id="${a.id}" type="${a.type}" async${a.integrity ? html` integrity="${a.integrity}"` : ''}${a.crossorigin ? html` crossorigin="${a.crossorigin}"` : ''}${a.referrerpolicy ? html` referrerpolicy="${a.referrerpolicy}"` : ''}${a.nonce ? html` nonce="${a.nonce}"` : ''}></script>`;
    case 'div':
      return html`<div id="${a.id}" class="${a.class}"></div>`;
    default:
      return nodeMessages;
  }
}

function form(flow: Json, nodes: Json[], id: string): Html {
  const ui = flow.ui;
  const firstVisible = nodes.findIndex((n) => n.attributes?.node_type === 'input' && !['hidden', 'submit', 'button'].includes(n.attributes.type));
  // "Back" and "Resend code" are secondary: after the form's own fields and its main button.
  const secondary = (n: Json) => n.attributes?.type === 'submit' && (n.attributes.name === 'screen' || n.attributes.name === 'resend');
  const ordered = [...nodes.filter((n) => !secondary(n)), ...nodes.filter(secondary)];
  return html`<form id="${id}" action="${ui.action}" method="${String(ui.method).toLowerCase()}">${ordered.map((n) => node(n, n === nodes[firstVisible]))}</form>`;
}

/** Links under a flow's form to the flows next to it. */
function otherFlows(kind: FlowPageKind, flow: Json): Html {
  const returnTo = flow.return_to ? `?return_to=${encodeURIComponent(flow.return_to)}` : '';
  const links: Array<[string, string]> = kind === 'login'
    ? [[`/registration${returnTo}`, 'Create an account'], [`/recovery${returnTo}`, 'Forgot your password?']]
    : kind === 'registration' ? [[`/login${returnTo}`, 'Already have an account? Sign in']]
      : kind === 'recovery' || kind === 'verification' ? [['/login', 'Back to sign in']] : [];
  return html`<nav><ul>${links.map(([href, text]) => html`<li><a href="${href}">${text}</a></li>`)}</ul></nav>`;
}

export function flowPage(kind: FlowPageKind, flow: Json, signedIn: boolean): Html {
  const nodes: Json[] = flow.ui.nodes ?? [];
  let forms: Html;
  if (kind === 'settings') {
    const defaults = nodes.filter((n) => n.group === 'default');
    const groups = [...new Set(nodes.map((n) => n.group as string).filter((g) => g !== 'default'))];
    forms = html`${groups.map((g) => html`<section aria-labelledby="group-${g}"><h2 id="group-${g}">${GROUP_TITLES[g] ?? g}</h2>${form(flow, [...defaults, ...nodes.filter((n) => n.group === g)], `flow-${g}`)}</section>`)}`;
  } else {
    forms = form(flow, nodes, 'flow');
  }
  const title = kind === 'login' && flow.requested_aal === 'aal2' ? 'Second factor' : kind === 'login' && flow.refresh ? 'Confirm it is you' : TITLES[kind];
  return layout(title, html`<h1>${title}</h1><div id="messages">${messages(flow.ui.messages, 'message')}</div>${forms}${otherFlows(kind, flow)}`, { signedIn });
}

export function homePage(session: Json | undefined, options: { mailViewer: boolean }): Html {
  const mail = options.mailViewer ? html`<li><a href="/mail">Mail the server sent (development)</a></li>` : '';
  if (!session) {
    return layout('Welcome', html`<h1>Welcome</h1><p>You are not signed in.</p>
<nav><ul><li><a href="/login">Sign in</a></li><li><a href="/registration">Create an account</a></li><li><a href="/recovery">Recover your account</a></li>${mail}</ul></nav>`);
  }
  const identity = session.identity ?? {};
  const addresses: Json[] = identity.verifiable_addresses ?? [];
  const unverified = addresses.filter((a) => !a.verified);
  return layout('Your account', html`<h1>Welcome back</h1>
<p id="signed-in-as">Signed in as <strong>${identity.traits?.email ?? identity.id}</strong> (${session.authenticator_assurance_level}, with ${(session.authentication_methods ?? []).map((m: Json) => m.method).join(', ')}).</p>
${unverified.length > 0 ? html`<p class="message">${unverified.map((a) => a.value).join(', ')} is not verified yet. <a href="/verification">Verify it</a>.</p>` : ''}
<nav><ul><li><a href="/settings">Account settings</a></li><li><a href="/verification">Verify an address</a></li>${mail}<li><a href="/logout">Sign out</a></li></ul></nav>
<h2>Your traits</h2><pre id="traits">${JSON.stringify(identity.traits ?? {}, null, 2)}</pre>`, { signedIn: true });
}

export function errorPage(error: Json | undefined): Html {
  const e = error?.error ?? error ?? {};
  return layout('Something went wrong', html`<h1>Something went wrong</h1><p class="message error" role="alert" id="error-message">${e.message ?? 'The request could not be completed.'}</p>
${e.reason ? html`<p id="error-reason">${e.reason}</p>` : ''}<nav><ul><li><a href="/">Start over</a></li></ul></nav>`);
}

export function mailPage(list: Array<{ recipient: string; subject: string; body: string; createdAt: Date; status: string }>): Html {
  return layout('Mail', html`<h1>Mail the server sent</h1><p>Development only (<code>--dev</code>): what the courier queued, newest first.</p>
<table><thead><tr><th>To</th><th>Message</th></tr></thead><tbody>${list.map((m) => html`<tr class="mail"><td>${m.recipient}<br><small>${m.createdAt.toISOString()} · ${m.status}</small></td><td><strong>${m.subject}</strong><pre>${m.body}</pre></td></tr>`)}</tbody></table>`);
}
