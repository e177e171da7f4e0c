import { byId } from './dom.js';

/**
 * Sends a control to the dashboard server. Errors (400: bad request,
 * 409: the cluster could not do it) are shown in the message bar rather
 * than thrown: a control that fails is part of the demo.
 */
export async function control(path: string, body?: unknown): Promise<unknown> {
  const message = byId('message');
  try {
    const response = await fetch(`/api/${path}`, {
      method: 'POST',
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const answer = (await response.json()) as { error?: string };
    if (!response.ok) {
      message.textContent = `${path}: ${answer.error ?? response.statusText}`;
      message.className = 'error';
    } else {
      message.textContent = '';
      message.className = '';
    }
    return answer;
  } catch (error) {
    message.textContent = `${path}: ${error instanceof Error ? error.message : String(error)}`;
    message.className = 'error';
    return undefined;
  }
}
