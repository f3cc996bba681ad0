// An independent TDS client (tedious, Node's TDS driver) logs in to a SafeSql loopback server and runs one query.
// Usage: SAFESQL_PORT=1433 [SAFESQL_TOKEN=<jwt> | SAFESQL_USER=sa SAFESQL_PASSWORD=...] node check.js
// With SAFESQL_TOKEN it uses tedious's "azure-active-directory-access-token" authentication (the token inside LOGIN7's
// FEDAUTH feature extension), otherwise SQL authentication. TLS for the whole connection (encrypt: true, TDS 7.4); the
// loopback server's certificate is self-signed, so it is trusted as is (loopback only).
// Prints one JSON line: {"ok":true,"login":"<SUSER_SNAME()>"} or {"ok":false,"number":..,"state":..,"class":..,"message":".."}.
// Exit code 0 on success, 2 when the server refused the login, 1 on any other failure. Never prints the token or password.
'use strict';

const { Connection, Request } = require('tedious');

const port = Number.parseInt(process.env.SAFESQL_PORT ?? '', 10);
if (!Number.isInteger(port) || port <= 0 || port > 65535) {
  console.error('check.js: set SAFESQL_PORT to the loopback server\'s port');
  process.exit(1);
}

const token = process.env.SAFESQL_TOKEN;
const authentication = token
  ? { type: 'azure-active-directory-access-token', options: { token } }
  : { type: 'default', options: { userName: process.env.SAFESQL_USER ?? 'sa', password: process.env.SAFESQL_PASSWORD ?? '' } };

const connection = new Connection({
  server: '127.0.0.1',
  authentication,
  options: { port, encrypt: true, trustServerCertificate: true, connectTimeout: 30000, requestTimeout: 30000 },
});

let serverError = null;
connection.on('errorMessage', (message) => {
  serverError = { number: message.number, state: message.state, class: message.class, message: message.message };
});

const timer = setTimeout(() => finish(1, { ok: false, message: 'no answer within 60 s' }), 60000);

function finish(code, result) {
  clearTimeout(timer);
  console.log(JSON.stringify(result));
  connection.close();
  process.exitCode = code;
}

connection.on('connect', (err) => {
  if (err) {
    finish(serverError ? 2 : 1, { ok: false, ...(serverError ?? { message: err.message }) });
    return;
  }

  let login = null;
  const request = new Request('SELECT SUSER_SNAME()', (queryError) => {
    if (queryError) {
      finish(1, { ok: false, message: queryError.message });
    } else {
      finish(0, { ok: true, login });
    }
  });
  request.on('row', (columns) => {
    login = columns[0].value;
  });
  connection.execSql(request);
});

connection.connect();
