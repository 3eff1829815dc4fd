export * from './session.ts';
export * from './session-json.ts';
export * from './session-service.ts';
export * from './session-cookie.ts';
export * from './token-from-request.ts';
export { hashToken } from './token-hash.ts';
export { SessionTokenizer, TokenizerConfigError } from './session-tokenizer.ts';
