/**
 * Building the page: every node is made with createElement / createElementNS and every text is a text node.
 * Attributes are set with setAttribute from fixed lists of names (others throw); links only to the page's own
 * anchors and to ATT&CK technique pages. Nothing here (or anywhere in the page) uses innerHTML, outerHTML,
 * insertAdjacentHTML, document.write, eval, new Function or string timers.
 */

/** What `el`/`svg` take as children: nodes, text (always a text node, never markup), lists of them; null/false skipped. */
export type Child = Node | string | number | null | undefined | false | Child[];
export type Attrs = Record<string, string | boolean | null | undefined> | null;

const ATTRS = ['class', 'id', 'title', 'type', 'colspan', 'role', 'tabindex', 'for', 'placeholder', 'rel', 'target', 'href',
  'scope', 'aria-sort', 'aria-label', 'aria-live', 'readonly', 'spellcheck', 'data-i', 'data-prop', 'data-action', 'name', 'rows', 'open'];
const SVG_ATTRS = ['class', 'x', 'y', 'x1', 'x2', 'y1', 'y2', 'cx', 'cy', 'r', 'width', 'height', 'points', 'viewBox',
  'text-anchor', 'role', 'tabindex', 'data-i', 'aria-label', 'dominant-baseline'];
const SVG_NS = 'http://www.w3.org/2000/svg';

/** An ATT&CK technique id (the only external links are built from these). */
export const ATTACK_ID = /^T\d{4}(\.\d{3})?$/;
const SAFE_HREF = /^(#[A-Za-z0-9_-]*|https:\/\/attack\.mitre\.org\/techniques\/T\d{4}(\/\d{3})?\/)$/;

function addOne(node: Node, child: Child): void {
  if (child === null || child === undefined || child === false) return;
  if (Array.isArray(child)) {
    for (const c of child) addOne(node, c);
    return;
  }
  if (typeof child === 'object') {
    node.appendChild(child);
    return;
  }
  node.appendChild(document.createTextNode(String(child)));
}

/** Append children (see {@link Child}). */
export function add(node: Node, ...children: Child[]): void {
  for (const c of children) addOne(node, c);
}

function setAttrs(node: Element, attrs: Attrs, allowed: readonly string[]): void {
  if (!attrs) return;
  for (const k of Object.keys(attrs)) {
    const v = attrs[k];
    if (v === null || v === undefined || v === false) continue;
    if (!allowed.includes(k)) throw new Error('attribute not allowed: ' + k);
    if (k === 'href' && !SAFE_HREF.test(String(v))) throw new Error('link not allowed');
    node.setAttribute(k, v === true ? '' : String(v));
  }
}

/** `el(tag, attrs, ...children)`: an HTML element. */
export function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs?: Attrs, ...children: Child[]): HTMLElementTagNameMap[K] {
  const n = document.createElement(tag);
  setAttrs(n, attrs ?? null, ATTRS);
  add(n, ...children);
  return n;
}

/** `svg(tag, attrs, ...children)`: an SVG element. */
export function svg(tag: string, attrs?: Attrs, ...children: Child[]): SVGElement {
  const n = document.createElementNS(SVG_NS, tag) as SVGElement;
  setAttrs(n, attrs ?? null, SVG_ATTRS);
  add(n, ...children);
  return n;
}

export function clear(node: Node): void {
  while (node.firstChild) node.removeChild(node.firstChild);
}
