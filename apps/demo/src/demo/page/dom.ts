/** Creates an element with properties and text; children may follow. */
export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Partial<HTMLElementTagNameMap[K]> & { dataset?: Record<string, string> } = {},
  text = '',
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  const { dataset, ...rest } = props;
  Object.assign(element, rest);
  if (dataset !== undefined) Object.assign(element.dataset, dataset);
  if (text !== '') element.textContent = text;
  return element;
}

/** The element with `id`; a missing one is a bug in the page shell. */
export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const element = document.getElementById(id);
  if (element === null) throw new Error(`the page has no #${id}`);
  return element as T;
}

/** Seconds since the demo started, as the timeline and charts print them. */
export function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`;
}
