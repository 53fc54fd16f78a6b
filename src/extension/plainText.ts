// Strings from a run (names, paths, error messages quoting them) reach UI surfaces that interpret a
// little syntax of their own. These keep such strings literal. No `vscode` import: unit-tested.

/**
 * Notification messages turn `[text](command:…)` into a clickable link, so a crafted layer name
 * quoted in an error could offer to run a command. A space between `]` and `(` keeps the text
 * readable and stops it from being a link.
 */
export function plainNotificationText(text: string): string {
  return text.replace(/\]\(/g, '] (');
}

/** `$(name)` or `$(name~modifier)`, optionally already escaped by a preceding backslash; as VS Code's iconLabels.ts matches it. */
const ICON_SYNTAX = /(\\)?\$\([A-Za-z0-9-]+(?:~[A-Za-z]+)?\)/g;

/**
 * Quick pick labels, descriptions and details render `$(name)` as an icon; a backslash in front keeps
 * it literal. Same rule as VS Code's own escapeIcons, which extensions cannot import.
 */
export function escapeCodicons(text: string): string {
  return text.replace(ICON_SYNTAX, (match: string, escaped: string | undefined) => (escaped !== undefined ? match : `\\${match}`));
}
