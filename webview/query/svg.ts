// SVG elements built the way dom.ts builds HTML: attributes with setAttribute, text as Text nodes,
// never markup parsed from a string, and no style or event-handler attributes (the CSP refuses
// the first, the second would be script).

const SVG_NS = 'http://www.w3.org/2000/svg';

export type SvgChild = SVGElement | string | number | null | undefined | false;

export function s<K extends keyof SVGElementTagNameMap>(
  tag: K,
  attrs: Readonly<Record<string, string | number | undefined>> = {},
  ...children: SvgChild[]
): SVGElementTagNameMap[K] {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined) continue;
    const lower = name.toLowerCase();
    if (lower === 'style' || lower.startsWith('on')) throw new Error(`s(): attribute "${name}" is not allowed; use classes or addEventListener`);
    el.setAttribute(name, String(value));
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    el.appendChild(typeof child === 'string' || typeof child === 'number' ? document.createTextNode(String(child)) : child);
  }
  return el;
}

/** A hover text for an SVG shape: its <title> child, as text. */
export function titled<T extends SVGElement>(el: T, text: string): T {
  el.appendChild(s('title', {}, text));
  return el;
}
