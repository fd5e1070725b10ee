/** A refusal of `POST /token` or `POST /auth/register`, with a message fit for the page. */
export class AuthApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
    this.name = 'AuthApiError';
  }
}

/** `POST /token` (JSON); resolves with the access token. */
export async function requestToken(
  username: string,
  password: string,
): Promise<string> {
  const response = await post('/token', { username, password });
  const body = (await response.json()) as { access_token?: unknown };
  if (typeof body.access_token !== 'string') {
    throw new AuthApiError('The server sent no token', response.status);
  }
  return body.access_token;
}

/** `POST /auth/register`. */
export async function registerUser(
  username: string,
  password: string,
): Promise<void> {
  await post('/auth/register', { username, password });
}

async function post(path: string, body: unknown): Promise<Response> {
  let response: Response;
  try {
    response = await fetch(path, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/json',
        Accept: 'application/json',
      },
      body: JSON.stringify(body),
      credentials: 'same-origin',
    });
  } catch {
    throw new AuthApiError('The server cannot be reached', 0);
  }
  if (!response.ok) {
    throw await toError(response);
  }
  return response;
}

async function toError(response: Response): Promise<AuthApiError> {
  const body = (await response.json().catch(() => ({}))) as {
    message?: unknown;
  };
  const detail = Array.isArray(body.message)
    ? body.message.map(String).join('; ')
    : typeof body.message === 'string'
      ? body.message
      : undefined;
  switch (response.status) {
    case 409:
      return new AuthApiError('That username is taken', 409);
    case 429: {
      const seconds = Number(response.headers.get('Retry-After'));
      return new AuthApiError(
        `Too many attempts. Try again in ${Number.isFinite(seconds) && seconds > 0 ? formatWait(seconds) : 'a while'}.`,
        429,
      );
    }
    default:
      return new AuthApiError(
        detail ?? `Request failed (${response.status})`,
        response.status,
      );
  }
}

function formatWait(seconds: number): string {
  return seconds >= 120
    ? `${Math.ceil(seconds / 60)} minutes`
    : `${Math.ceil(seconds)} s`;
}
