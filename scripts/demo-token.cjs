// Prints a fresh single-use auto-approving enrolment token, for the demo's local agent.
const [base, username, password] = process.argv.slice(2);
(async () => {
  const login = await fetch(`${base}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username, password }) });
  if (!login.ok) throw new Error(`login failed: ${login.status} ${await login.text()}`);
  const { token } = await login.json();
  const res = await fetch(`${base}/api/enrollment-tokens`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ uses: 1, expiresInSeconds: 600, autoApprove: true, note: 'demo: local agent' }),
  });
  if (!res.ok) throw new Error(`token failed: ${res.status} ${await res.text()}`);
  process.stdout.write((await res.json()).secret);
})().catch((e) => {
  console.error(`sysfleet demo: ${e.message}`);
  process.exit(1);
});
