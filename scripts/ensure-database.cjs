// Creates the database named in the given postgres URL when it is missing.
const { Client } = require('pg');
const url = new URL(process.argv[2]);
const name = decodeURIComponent(url.pathname.slice(1));
if (!/^[a-zA-Z0-9_]+$/.test(name)) {
  console.error(`sysfleet: database name "${name}" must be letters, digits and _`);
  process.exit(1);
}
url.pathname = '/postgres';
const client = new Client({ connectionString: url.toString() });
(async () => {
  await client.connect();
  const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
  if (!rowCount) await client.query(`CREATE DATABASE "${name}"`);
  await client.end();
})().catch((e) => {
  console.error(`sysfleet: cannot reach PostgreSQL at ${url.host}: ${e.message}`);
  process.exit(1);
});
