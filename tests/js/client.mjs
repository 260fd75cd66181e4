// A minimal CMMS live-event consumer with the official socket.io-client (v4, Engine.IO 4).
//
//   node client.mjs <url> [token]      (or CMMS_URL / CMMS_TOKEN in the environment)
//
// Prints one JSON line per line of news on standard output:
//   {"connected": "<socket id>"}                          once the server accepted the token
//   {"event": "order:created", "seq": 7, "tenant_id": 3, "id": 42}   per received event
//   {"disconnect": "<reason>"}                            when the server closes the socket
//   {"connect_error": "<reason>"}                         then exit status 1 (a refused token)
// CMMS_EXIT_AFTER_MS, when set, ends the process (status 0) after that many milliseconds.
import { io } from "socket.io-client";

const url = process.argv[2] || process.env.CMMS_URL;
const token = process.argv[3] ?? process.env.CMMS_TOKEN;
if (!url) {
  process.stderr.write("usage: node client.mjs <url> [token]  (or CMMS_URL, CMMS_TOKEN)\n");
  process.exit(2);
}

const print = (obj) => process.stdout.write(JSON.stringify(obj) + "\n");

const socket = io(url, {
  path: "/socket.io",
  transports: ["websocket"],
  auth: token ? { token } : {},
  reconnection: false,
  timeout: 10000,
});

socket.on("connect", () => print({ connected: socket.id }));

socket.on("connect_error", (err) => {
  print({ connect_error: err.message });
  socket.close();
  process.exit(1);
});

socket.on("disconnect", (reason) => print({ disconnect: reason }));

socket.onAny((event, payload) => {
  const envelope = payload && typeof payload === "object" ? payload : {};
  const data = envelope.data && typeof envelope.data === "object" ? envelope.data : {};
  print({ event, seq: envelope.seq ?? null, tenant_id: envelope.tenant_id ?? null, id: data.id ?? null });
});

const exitAfter = Number(process.env.CMMS_EXIT_AFTER_MS || 0);
if (exitAfter > 0) {
  setTimeout(() => {
    socket.close();
    process.exit(0);
  }, exitAfter);
}

for (const sig of ["SIGTERM", "SIGINT"]) {
  process.on(sig, () => {
    socket.close();
    process.exit(0);
  });
}
