// Building DOM without ever parsing a string as HTML. Run names, layer names and class names are
// whatever the run's writer put in its manifest; they reach the page only as Text nodes and
// attribute values, so `<img onerror=…>` in a class name shows as those characters.
//
// Style and event-handler attributes are refused here: the CSP blocks style="" attributes anyway,
// and an on* attribute would be script. Styles that depend on data go through the CSSOM
// (element.style.x = …), which the CSP allows.

export type Child = Node | string | number | null | undefined | false;

export interface ElementProps {
  readonly className?: string;
  /** Attributes, set with setAttribute (never parsed as markup). */
  readonly attrs?: Readonly<Record<string, string | number | boolean | undefined>>;
}

function isForbiddenAttribute(name: string): boolean {
  const lower = name.toLowerCase();
  return lower === 'style' || lower.startsWith('on') || lower === 'srcdoc';
}

/** An element with text children as Text nodes. `false`, null and undefined children are skipped. */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, props?: ElementProps, ...children: Child[]): HTMLElementTagNameMap[K];
export function h(tag: string, props?: ElementProps, ...children: Child[]): HTMLElement;
export function h(tag: string, props: ElementProps = {}, ...children: Child[]): HTMLElement {
  const el = document.createElement(tag);
  if (props.className !== undefined) el.className = props.className;
  for (const [name, value] of Object.entries(props.attrs ?? {})) {
    if (value === undefined || value === false) continue;
    if (isForbiddenAttribute(name)) throw new Error(`h(): attribute "${name}" is not allowed; use the CSSOM or addEventListener`);
    el.setAttribute(name, value === true ? '' : String(value));
  }
  append(el, ...children);
  return el;
}

export function append(parent: Node, ...children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    parent.appendChild(typeof child === 'string' || typeof child === 'number' ? document.createTextNode(String(child)) : child);
  }
}

/** Replaces an element's children; strings become Text nodes. */
export function replaceChildren(parent: Element, ...children: Child[]): void {
  parent.replaceChildren();
  append(parent, ...children);
}

/** Sets an element's text, skipping the DOM write when it is unchanged (cheap on every animation frame). */
export function setText(el: Element, text: string): void {
  if (el.textContent !== text) el.textContent = text;
}

/** The element with this id, which the view itself created; a missing one is a bug in the view. */
export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (el === null) throw new Error(`no element #${id}`);
  return el as T;
}

/**
 * One floating tooltip per view, positioned next to the pointer through the CSSOM. Its text is set
 * with textContent.
 */
export class Tooltip {
  readonly element: HTMLDivElement;

  constructor(id: string) {
    this.element = h('div', { className: 'tooltip', attrs: { id, role: 'tooltip', hidden: true } });
    document.body.appendChild(this.element);
  }

  /** Shows `lines` near the viewport point (x, y), kept inside the viewport. */
  show(lines: readonly string[], x: number, y: number): void {
    const el = this.element;
    replaceChildren(el, ...lines.flatMap((line, i) => (i === 0 ? [line] : [h('br'), line])));
    el.hidden = false;
    const margin = 12;
    const { width, height } = el.getBoundingClientRect();
    const left = Math.min(x + margin, window.innerWidth - width - 4);
    const top = y + margin + height > window.innerHeight ? y - margin - height : y + margin;
    el.style.left = `${Math.max(4, left)}px`;
    el.style.top = `${Math.max(4, top)}px`;
  }

  hide(): void {
    this.element.hidden = true;
  }
}

/**
 * A function that runs `render` on the next animation frame, once however many times it is called
 * before then: every response, progress and event of a frame costs one render.
 */
export function frameScheduler(render: () => void): () => void {
  let scheduled = false;
  return () => {
    if (scheduled) return;
    scheduled = true;
    requestAnimationFrame(() => {
      scheduled = false;
      render();
    });
  };
}

/**
 * A card of a view: a <section> labelled by its heading for screen readers. A string title becomes
 * an <h2> with the id `<id>-title`; a heading element the view keeps (to change its text) keeps
 * its own id, or gets that one.
 */
export function card(id: string, title: HTMLElement | string, ...body: Child[]): HTMLElement {
  const heading = typeof title === 'string' ? h('h2', { attrs: { id: `${id}-title` } }, title) : title;
  if (heading.id === '') heading.id = `${id}-title`;
  return h('section', { className: 'card', attrs: { id, 'aria-labelledby': heading.id } }, heading, ...body);
}
