import { ResponseError } from '@ory/client-fetch';

/** The status and parsed body of an Ory SDK call that must fail. */
export async function failure(promise: Promise<unknown>): Promise<{ status: number; body: any }> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof ResponseError) {
      const text = await err.response.text();
      return { status: err.response.status, body: text === '' ? undefined : JSON.parse(text) };
    }
    throw err;
  }
  throw new Error('expected the call to fail');
}
