import { describe, expect, it } from 'vitest';
import { JSONNET_INSTALL, JSONNET_PACKAGE, jsonnetEvaluatorProblem, loadJsonnetSource, type JsonnetModule } from '../../../src/hooks/jsonnet.ts';
import { jsonnetMissing } from '../../support/jsonnet.ts';

describe('the optional Jsonnet evaluator', () => {
  it('names the missing package and the command that installs it', () => {
    const problem = jsonnetEvaluatorProblem(() => {
      throw Object.assign(new Error(`Cannot find module '${JSONNET_PACKAGE}'`), { code: 'MODULE_NOT_FOUND' });
    });
    expect(problem).toContain(`optional package ${JSONNET_PACKAGE}, which is not installed`);
    expect(problem).toContain(`run \`${JSONNET_INSTALL}\``);
  });

  it('says so when the package is there but its add-on cannot be loaded (never built)', () => {
    const problem = jsonnetEvaluatorProblem(() => {
      throw new Error('Could not locate the bindings file. Tried:\n → /x/build/node-jsonnet.node');
    });
    expect(problem).toMatch(/which cannot be loaded \(Could not locate the bindings file\. Tried:\)/);
    expect(jsonnetEvaluatorProblem(() => ({}) as JsonnetModule)).toMatch(/exports no Jsonnet class/);
  });

  it('is no problem when the package loads', () => {
    expect(jsonnetEvaluatorProblem(() => ({ Jsonnet: class {} }) as unknown as JsonnetModule)).toBeUndefined();
  });

  it('a source is checked before the evaluator: a bad URI is reported as such either way', () => {
    expect(loadJsonnetSource('https://example.com/x.jsonnet', '.')).toEqual({ problem: expect.stringMatching(/^use a file:\/\/ or base64:\/\//) });
    expect(loadJsonnetSource('file:///nonexistent/x.jsonnet', '.')).toEqual({ problem: 'cannot read /nonexistent/x.jsonnet: ENOENT' });
    expect(loadJsonnetSource('base64://e30=', '.')).toEqual(jsonnetMissing ? { problem: jsonnetMissing } : { source: '{}' });
  });
});
