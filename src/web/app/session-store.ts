/** Who is logged in in this tab. The token stays in sessionStorage: never in a URL or a cookie. */
export interface Session {
  user: string;
  token: string;
}

/** What the page restores after a reload. */
export interface SavedView {
  rooms: string[];
  dms: string[];
  active?: string;
}

const SESSION_KEY = 'chat.session';
const VIEW_KEY = 'chat.view';

export function loadSession(): Session | undefined {
  const value = read(SESSION_KEY) as Partial<Session> | undefined;
  return typeof value?.user === 'string' && typeof value.token === 'string'
    ? { user: value.user, token: value.token }
    : undefined;
}

export function saveSession(session: Session): void {
  write(SESSION_KEY, session);
}

export function clearSession(): void {
  try {
    sessionStorage.removeItem(SESSION_KEY);
    sessionStorage.removeItem(VIEW_KEY);
  } catch {
    // Storage disabled: nothing was kept.
  }
}

export function loadView(user: string): SavedView | undefined {
  const value = read(VIEW_KEY) as (SavedView & { user?: string }) | undefined;
  if (value?.user !== user || !Array.isArray(value.rooms)) {
    return undefined;
  }
  return {
    rooms: value.rooms.filter((room) => typeof room === 'string'),
    dms: Array.isArray(value.dms)
      ? value.dms.filter((dm) => typeof dm === 'string')
      : [],
    active: typeof value.active === 'string' ? value.active : undefined,
  };
}

export function saveView(user: string, view: SavedView): void {
  write(VIEW_KEY, { user, ...view });
}

function read(key: string): unknown {
  try {
    const text = sessionStorage.getItem(key);
    return text === null ? undefined : (JSON.parse(text) as unknown);
  } catch {
    return undefined;
  }
}

function write(key: string, value: unknown): void {
  try {
    sessionStorage.setItem(key, JSON.stringify(value));
  } catch {
    // Storage full or disabled: the session lasts as long as the page.
  }
}
