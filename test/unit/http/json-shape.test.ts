import { describe, expect, it } from 'vitest';
import { jsonShapeProblem } from '../../../src/http/middleware/json-shape.ts';

const LIMITS = { maxDepth: 4, maxKeys: 10 };
const problem = (json: string, refuseNul = false) => jsonShapeProblem(new TextEncoder().encode(json), { ...LIMITS, refuseNul });

describe('jsonShapeProblem', () => {
  it('counts depth and keys outside strings only', () => {
    expect(problem('{"a":{"b":{"c":{"d":1}}}}')).toBeUndefined();
    expect(problem('{"a":{"b":{"c":{"d":{"e":1}}}}}')).toBe('depth');
    expect(problem(`{${Array.from({ length: 11 }, (_, i) => `"k${i}":1`).join(',')}}`)).toBe('keys');
    expect(problem('{"a":"{{{{{{:::::::::::::"}')).toBeUndefined();
  });

  it('refuses an escaped NUL only where asked', () => {
    expect(problem('{"a":"x\\u0000"}')).toBeUndefined();
    expect(problem('{"a":"x\\u0000"}', true)).toBe('nul');
  });

  it('refuses lone surrogates, high or low, and passes surrogate pairs and other escapes', () => {
    expect(problem('{"method":"\\ud800"}')).toBe('surrogate');
    expect(problem('{"method":"\\uDBFF x"}')).toBe('surrogate');
    expect(problem('{"method":"\\udc00"}')).toBe('surrogate');
    expect(problem('{"a":"\\ud800\\u0041"}')).toBe('surrogate');
    expect(problem('{"a":"\\ud83d\\ude00 \\u00e9 \\" \\\\ud800"}')).toBeUndefined();
    expect(problem('["\\ud83d\\ude00","\\ud800"]')).toBe('surrogate');
  });
});
