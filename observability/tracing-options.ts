import { peekConfigSection } from '../config/peek.ts';

/**
 * Whether `idflow serve` should start OpenTelemetry, decided BEFORE the rest of the program is imported (the SDK
 * must patch `http` and `express` before they load). Deliberately light: reads only `tracing.*` from the config
 * file and the environment, without validating the whole config (serve does that right after).
 */
export interface TracingOptions {
  serviceName: string;
}

function configFileArg(argv: string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--config' || arg === '-c') return argv[i + 1];
    if (arg.startsWith('--config=')) return arg.slice('--config='.length);
  }
  return undefined;
}

function fileTracing(file: string | undefined): { provider?: unknown; service_name?: unknown } {
  return peekConfigSection(file, 'tracing') ?? {};
}

/**
 * Tracing is on when `tracing.provider` is `otel` (config file, or `TRACING_PROVIDER`), or when the standard
 * `OTEL_TRACES_EXPORTER` names an exporter; `OTEL_SDK_DISABLED=true` turns it off. The service name comes from
 * `tracing.service_name` / `TRACING_SERVICE_NAME`, then `OTEL_SERVICE_NAME`, then `idflow`.
 */
export function tracingOptions(argv: string[], env: Record<string, string | undefined>): TracingOptions | undefined {
  if (argv[0] !== 'serve' || argv.includes('--help') || argv.includes('-h')) return undefined;
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return undefined;
  const file = fileTracing(configFileArg(argv.slice(1)));
  const provider = String(env.TRACING_PROVIDER ?? file.provider ?? '').trim().toLowerCase();
  const exporter = (env.OTEL_TRACES_EXPORTER ?? '').trim().toLowerCase();
  const enabled = provider === 'otel' || provider === 'opentelemetry' || (exporter !== '' && exporter !== 'none');
  if (!enabled) return undefined;
  const configured = env.TRACING_SERVICE_NAME ?? (typeof file.service_name === 'string' ? file.service_name : undefined);
  return { serviceName: configured || env.OTEL_SERVICE_NAME || 'idflow' };
}
