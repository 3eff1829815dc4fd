const UNITS: Record<string, number> = { B: 1, KB: 1024, MB: 1024 ** 2, GB: 1024 ** 3, TB: 1024 ** 4, PB: 1024 ** 5, EB: 1024 ** 6 };

/** Parses Kratos byte sizes ("19MB", "1GB"; binary multiples as go-bytesize does) into bytes. */
export function parseByteSize(text: string): number {
  const match = /^([0-9]+(?:\.[0-9]+)?)\s*(B|KB|MB|GB|TB|PB|EB)$/i.exec(String(text).trim());
  if (!match) throw new Error(`invalid byte size "${text}"`);
  return Math.floor(Number(match[1]) * UNITS[match[2].toUpperCase()]);
}
