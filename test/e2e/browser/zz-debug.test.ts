import { it } from 'vitest';
import { startTestServer } from '../../support/server.ts';
import { Browser, csrfOf } from './browser-client.ts';
const SCHEMA = {
  type: 'object',
  properties: { traits: { type: 'object', properties: {
    email: { type: 'string', format: 'email', title: 'E', 'ory.sh/kratos': { credentials: { password: { identifier: true } }, verification: { via: 'email' }, recovery: { via: 'email' } } },
    name: { type: 'string', minLength: 1 },
    nickname: { type: 'string', minLength: 3 },
    tos: { type: 'boolean' },
    tags: { type: 'array', items: { type: 'string' } },
    newsletter: { type: 'boolean' },
  }, required: ['email', 'name'], additionalProperties: false } },
};
it('debug', async () => {
  const s = await startTestServer('memory', {
    identity: { default_schema_id: 'default', schemas: [{ id: 'default', url: `base64://${Buffer.from(JSON.stringify(SCHEMA)).toString('base64')}` }] },
    selfservice: { default_browser_return_url: 'https://ui.example/welcome', flows: { registration: { ui_url: 'https://ui.example/registration', style: 'profile_first' } } },
  });
  const b = new Browser(s.publicUrl);
  const { id } = await b.startHtml('registration');
  let flow = await b.readFlow('registration', id);
  console.log(JSON.stringify(flow.ui.nodes.map((n: any) => [n.attributes.name, n.attributes.type, n.attributes.value, n.group])));
  for (const fields of [
    { 'traits.email': 'a@example.com', 'traits.name': 'A', 'traits.nickname': '', 'traits.tags': '', method: 'profile' },
    { 'traits.email': 'a@example.com', 'traits.name': 'A', method: 'profile' },
  ]) {
    flow = await b.readFlow('registration', id);
    const res = await b.submitForm(flow.ui.action, { ...fields, csrf_token: csrfOf(flow) });
    console.log(res.status, res.headers.get('location'));
    flow = await b.readFlow('registration', id);
    console.log(JSON.stringify(flow.ui.messages), JSON.stringify(flow.ui.nodes.map((n: any) => [n.attributes.name, n.attributes.type, n.attributes.value, n.messages])));
  }
  await s.close();
});
