/**
 * A small DOM builder. Everything the API says reaches the page as text nodes or attribute
 * values, never as HTML: nothing here parses markup, so a cluster label or an error message
 * cannot inject script (the server's Content-Security-Policy backs this up).
 */

/** What `h` accepts as children: nodes, text, and nothing (skipped), nested freely. */
export type Child = Node | string | number | null | undefined | false | readonly Child[];

type Handlers = { [E in keyof HTMLElementEventMap]?: (event: HTMLElementEventMap[E]) => void };

/** Attributes; `on` holds event listeners. `true` sets an empty attribute, false/null/undefined omit it. */
export interface Attrs {
  readonly [name: string]: string | number | boolean | null | undefined | Handlers;
  readonly on?: Handlers;
}

function append(parent: Node, child: Child): void {
  if (child === null || child === undefined || child === false) return;
  if (Array.isArray(child)) {
    for (const c of child as readonly Child[]) append(parent, c);
    return;
  }
  if (child instanceof Node) parent.appendChild(child);
  else parent.appendChild(document.createTextNode(String(child)));
}

/** Create an element with attributes and children. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs?: Attrs | null,
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs ?? {})) {
    if (name === 'on') {
      for (const [event, listener] of Object.entries(value as Handlers)) {
        if (listener) el.addEventListener(event, listener as EventListener);
      }
    } else if (value === true) el.setAttribute(name, '');
    else if (value !== false && value !== null && value !== undefined) el.setAttribute(name, String(value));
  }
  append(el, children);
  return el;
}

/** Replace an element's children. */
export function fill(parent: Element, ...children: Child[]): void {
  rendered.delete(parent);
  parent.replaceChildren();
  append(parent, children);
}

const rendered = new WeakMap<Element, string>();

/**
 * Replace an element's children only when `key` (the data they show) changed since the last
 * call: polling then leaves unchanged parts alone, so focus and selection survive a refresh.
 */
export function fillIfChanged(parent: Element, key: unknown, build: () => Child): void {
  const text = JSON.stringify(key);
  if (rendered.get(parent) === text) return;
  rendered.set(parent, text);
  fill(parent, build());
}

/** A unique id for label/aria wiring. */
let counter = 0;
export function uid(prefix: string): string {
  counter += 1;
  return `${prefix}-${counter}`;
}

/** Tell screen readers something happened (a polite live region in the page shell). */
export function announce(message: string): void {
  const region = document.getElementById('announcer');
  if (!region) return;
  // Clearing first makes the same message be read again.
  region.textContent = '';
  window.setTimeout(() => {
    region.textContent = message;
  }, 50);
}
