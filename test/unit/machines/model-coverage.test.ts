import { describe, expect, it } from 'vitest';
import { FLOW_MODELS } from '../../support/flow-models.ts';
import { coveringPaths, generatePaths, measureCoverage, openFlow, stepAction, topState } from '../../support/machine-model.ts';

describe.each(Object.entries(FLOW_MODELS))('%s machine, model-based', (name, spec) => {
  const paths = generatePaths(spec);

  it('generates paths that cover every state and every transition of the real machine', () => {
    const coverage = measureCoverage(spec, paths);
    const report = coverage.report();
    const replayed = coveringPaths(spec, paths);
    const replayReport = measureCoverage(spec, replayed).report();
    console.log(`${name}: ${paths.length} paths, states ${report.states}, transitions ${report.transitions}; ${replayed.length} covering paths for the HTTP replay`);
    expect(replayReport.complete).toBe(true);
    expect(report.missingStates).toEqual([]);
    expect(report.missingTransitions).toEqual([]);
    expect(report.complete).toBe(true);
  }, 60_000); // settings' hundreds of generated paths are replayed twice (a busy CI machine needs more than 5 s)

  it('settles after every client action: awaiting input or done, never inside an effect', () => {
    for (const path of paths) {
      let snapshot;
      for (const event of path.events) {
        snapshot = event.startsWith('open:') ? openFlow(spec, event.slice(5)) : stepAction(spec, snapshot!, event);
        expect(snapshot.status === 'done' || snapshot.hasTag('awaiting_input'), `${path.description} at ${event}`).toBe(true);
        expect(['choose_method', 'sent_email', 'passed_challenge', 'show_form', 'success']).toContain(topState(snapshot));
      }
    }
  });

  it('keeps secrets out of the persisted snapshot', () => {
    for (const path of paths) {
      let snapshot;
      for (const event of path.events) {
        snapshot = event.startsWith('open:') ? openFlow(spec, event.slice(5)) : stepAction(spec, snapshot!, event);
        // The model's secrets: passwords ('secret', 'new secret', ...) and codes; `lookup_secret` is a method id.
        const persisted = JSON.stringify(spec.machine.getPersistedSnapshot(snapshot as never)).replaceAll('lookup_secret', '');
        expect(persisted).not.toMatch(/secret|123456/);
      }
    }
  });
});

describe('coverage measurement', () => {
  it('notices missing transitions', () => {
    const spec = FLOW_MODELS.login;
    const partial = measureCoverage(spec, [{ events: ['open:api', 'submit wrong password'] }]);
    expect(partial.report().complete).toBe(false);
    expect(partial.report().missingTransitions.some((t) => t.includes('issuing_session'))).toBe(true);
  });
});
