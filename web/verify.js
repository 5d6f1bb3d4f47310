// @ts-check
// The link mailed to verify an address: `/verify?token=…`. The token is the proof; no sign-in needed.
import { createSession } from './api.js';

const session = createSession('fulcrum.shop');
const result = document.getElementById('verify-result');
const token = new URLSearchParams(location.search).get('token');

async function verify() {
  if (!token) throw new Error('This link has no token: open the link from the mail.');
  const answer = await session.send('POST', '/auth/verify-email', { body: { token } });
  history.replaceState(null, '', '/verify');
  return answer.user;
}

verify().then(
  (user) => {
    result.textContent = `${user.email} is verified. Thank you!`;
    result.className = 'big ok';
  },
  (error) => {
    result.textContent = error instanceof Error ? error.message : String(error);
    result.className = 'big bad';
  },
);
