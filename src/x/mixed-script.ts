/**
 * Mixed-script identifiers (UTS #39 section 5, "Highly Restrictive", simplified): a label of an identifier — the local
 * part, each domain label, a username — whose letters come from more than one script, such as a Latin "paypal" with a
 * Cyrillic "а", looks like another account's name. Such labels are refused. Common and inherited characters (digits,
 * punctuation, combining marks) belong to no script here; Latin may join Han with Hiragana and Katakana (Japanese),
 * Hangul (Korean) or Bopomofo (Chinese), as UTS #39 allows. Scripts come from the engine's Unicode data (`\p{Script}`).
 *
 * Whole-script look-alikes (a label all in Cyrillic that reads as Latin) need Unicode's confusables data and are not
 * caught here.
 */
const SCRIPTS: Array<[string, RegExp]> = [
  'Latin', 'Greek', 'Cyrillic', 'Armenian', 'Georgian', 'Cherokee', 'Hebrew', 'Arabic', 'Syriac', 'Thaana', 'Nko',
  'Devanagari', 'Bengali', 'Gurmukhi', 'Gujarati', 'Oriya', 'Tamil', 'Telugu', 'Kannada', 'Malayalam', 'Sinhala',
  'Thai', 'Lao', 'Tibetan', 'Myanmar', 'Khmer', 'Mongolian', 'Ethiopic', 'Hangul', 'Hiragana', 'Katakana', 'Bopomofo',
  'Han', 'Canadian_Aboriginal', 'Ogham', 'Runic', 'Tifinagh', 'Vai', 'Yi', 'Lisu', 'Coptic', 'Glagolitic', 'Gothic',
  'Deseret', 'Osage', 'Adlam',
].map((name) => [name, new RegExp(`^\\p{Script=${name}}$`, 'u')]);
/** A letter or digit of some script other than Common/Inherited. */
const SCRIPT_CHAR = /[\p{L}\p{Nd}]/u;
const COMMON = /^[\p{Script=Common}\p{Script=Inherited}]$/u;

/** Script combinations UTS #39 "Highly Restrictive" accepts in one label. */
const ALLOWED_SETS: ReadonlyArray<ReadonlySet<string>> = [
  new Set(['Latin', 'Han', 'Hiragana', 'Katakana']),
  new Set(['Latin', 'Han', 'Bopomofo']),
  new Set(['Latin', 'Han', 'Hangul']),
];

function scriptOf(char: string): string | undefined {
  if (!SCRIPT_CHAR.test(char) || COMMON.test(char)) return undefined;
  for (const [name, pattern] of SCRIPTS) if (pattern.test(char)) return name;
  return 'Other';
}

/** Whether one label mixes scripts. */
function labelMixes(label: string): boolean {
  const scripts = new Set<string>();
  for (const char of label) {
    const script = scriptOf(char);
    if (script) scripts.add(script);
  }
  if (scripts.size <= 1) return false;
  return !ALLOWED_SETS.some((allowed) => [...scripts].every((s) => allowed.has(s)));
}

/** Whether any label of `value` (the parts between `@` and `.`: a local part, each domain label) mixes scripts. */
export function hasMixedScripts(value: string): boolean {
  return value.normalize('NFKC').split(/[@.]/u).some(labelMixes);
}

export const MIXED_SCRIPT_REASON = 'The value mixes letters of different scripts (for example Latin and Cyrillic), which is not allowed in an identifier.';
