import { readFileSync } from 'node:fs';
import { parse } from 'yaml';

/**
 * One top-level section of a config file, read without validating anything (for decisions taken before the
 * program loads, such as whether to start tracing). Undefined when the file is missing or unreadable: the full
 * loader reports that itself.
 */
export function peekConfigSection(file: string | undefined, key: string): Record<string, unknown> | undefined {
  if (!file) return undefined;
  try {
    const doc = parse(readFileSync(file, 'utf8')) as Record<string, unknown> | null;
    const section = doc?.[key];
    return section && typeof section === 'object' && !Array.isArray(section) ? section as Record<string, unknown> : undefined;
  } catch {
    return undefined;
  }
}
