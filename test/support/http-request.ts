// HTTP for the e2e suites: JSON in and out, the body kept as text when it isn't JSON (the dashboard page).

export interface HttpReply<T = unknown> {
  status: number;
  body: T;
}

export async function request<T>(url: string, body?: unknown): Promise<HttpReply<T>> {
  const response = await fetch(url, {
    method: body === undefined ? 'GET' : 'POST',
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON (the dashboard page): the text is the body
  }
  return { status: response.status, body: parsed as T };
}
