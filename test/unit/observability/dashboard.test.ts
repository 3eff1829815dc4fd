import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { createMetrics } from '../../../observability/metrics.ts';

const dashboard = JSON.parse(readFileSync(new URL('../../../observability/grafana-dashboard.json', import.meta.url), 'utf8')) as {
  panels: Array<{ title: string; targets: Array<{ expr: string }> }>;
  templating: { list: Array<{ definition?: string }> };
};

/** Metric names a PromQL expression selects (identifiers directly followed by `{` or `[`, or a bare known prefix). */
function metricNames(expr: string): string[] {
  return [...expr.matchAll(/\b((?:idflow|process|nodejs)_[a-zA-Z0-9_]+)\b/g)].map((m) => m[1]);
}

describe('observability/grafana-dashboard.json', () => {
  it('queries only metrics that idflow exports', async () => {
    const metrics = createMetrics({ defaultMetrics: true });
    const exported = new Map((await metrics.registry.getMetricsAsJSON()).map((m) => [m.name, String(m.type)]));
    const exists = (name: string) => {
      if (exported.has(name)) return true;
      const histogram = /^(.*)_(bucket|sum|count)$/.exec(name);
      return histogram !== null && exported.get(histogram[1]) === 'histogram';
    };
    const queried = new Set<string>();
    for (const panel of dashboard.panels) {
      expect(panel.targets.length, panel.title).toBeGreaterThan(0);
      for (const target of panel.targets) for (const name of metricNames(target.expr)) queried.add(name);
    }
    for (const variable of dashboard.templating.list) for (const name of metricNames(variable.definition ?? '')) queried.add(name);
    const missing = [...queried].filter((name) => !exists(name));
    expect(missing).toEqual([]);
    // Every idflow metric has a panel.
    const idflowMetrics = [...exported.keys()].filter((name) => name.startsWith('idflow_'));
    const covered = (name: string) => [...queried].some((q) => q === name || q.startsWith(name + '_'));
    expect(idflowMetrics.filter((name) => !covered(name))).toEqual([]);
  });

  it('has a scrape config for the admin endpoint', () => {
    const config = parse(readFileSync(new URL('../../../observability/prometheus.yml', import.meta.url), 'utf8')) as {
      scrape_configs: Array<{ job_name: string; metrics_path: string; static_configs: Array<{ targets: string[] }> }>;
    };
    const job = config.scrape_configs.find((c) => c.job_name === 'idflow');
    expect(job?.metrics_path).toBe('/admin/metrics/prometheus');
    expect(job?.static_configs[0].targets).toContain('127.0.0.1:4434');
  });
});
