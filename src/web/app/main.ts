import { AuthApiError, registerUser, requestToken } from './auth-api.js';
import { ChatView } from './chat-view.js';
import { byId } from './dom.js';
import {
  clearSession,
  loadSession,
  saveSession,
  type Session,
} from './session-store.js';

const loginView = byId('login-view');
const loginForm = byId<HTMLFormElement>('login-form');
const username = byId<HTMLInputElement>('login-username');
const password = byId<HTMLInputElement>('login-password');
const loginError = byId('login-error');
const loginButtons = loginForm.querySelectorAll('button');

let chat: ChatView | undefined;

function showLogin(message: string): void {
  chat?.dispose();
  chat = undefined;
  clearSession();
  document.title = 'Chat';
  loginView.hidden = false;
  loginError.textContent = message;
  loginError.hidden = message.length === 0;
  password.value = '';
  username.focus();
}

function startChat(session: Session, secret: string | undefined): void {
  loginView.hidden = true;
  document.title = `Chat · ${session.user}`;
  chat = new ChatView(session, secret, { onSignedOut: showLogin });
  chat.start();
}

loginForm.addEventListener('submit', (event) => {
  event.preventDefault();
  const register =
    (event.submitter as HTMLButtonElement | null)?.value === 'register';
  const user = username.value.trim();
  const secret = password.value;
  loginError.hidden = true;
  loginButtons.forEach((button) => (button.disabled = true));
  const work = register
    ? registerUser(user, secret).then(() => requestToken(user, secret))
    : requestToken(user, secret);
  work
    .then((token) => {
      const session = { user, token };
      saveSession(session);
      password.value = '';
      startChat(session, secret);
    })
    .catch((error: unknown) => {
      loginError.textContent =
        error instanceof AuthApiError ? error.message : 'Something went wrong';
      loginError.hidden = false;
    })
    .finally(() => {
      loginButtons.forEach((button) => (button.disabled = false));
    });
});

const saved = loadSession();
if (saved) {
  startChat(saved, undefined);
} else {
  showLogin('');
}
