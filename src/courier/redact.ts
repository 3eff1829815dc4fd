/**
 * Keeps credentials out of dispatch errors and logs (Kratos #3770 put the SMTP URL, password included, into
 * error messages). Every secret the transport was configured with is replaced, in plain, URL-encoded and base64
 * forms (AUTH PLAIN/LOGIN send base64), and any URL's user-info is masked.
 */
export class Redactor {
  readonly #secrets: string[] = [];

  constructor(secrets: Array<string | undefined>) {
    const forms = new Set<string>();
    for (const secret of secrets) {
      if (!secret || secret.length < 3) continue;
      forms.add(secret);
      forms.add(encodeURIComponent(secret));
      forms.add(Buffer.from(secret).toString('base64'));
    }
    // Longest first, so a secret containing another one is replaced whole.
    this.#secrets = [...forms].sort((a, b) => b.length - a.length);
  }

  redact(text: string): string {
    let out = text.replace(/\b([a-z][a-z0-9+.-]*:\/\/)[^\s/@]*@/gi, '$1[redacted]@');
    for (const secret of this.#secrets) out = out.split(secret).join('[redacted]');
    return out;
  }
}

/** Replaces an address with a placeholder (for log lines, which never carry recipients). */
export function scrubAddress(text: string, address: string): string {
  if (!address) return text;
  return text.replace(new RegExp(address.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), 'gi'), '[recipient]');
}
