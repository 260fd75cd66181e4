// Holds N Socket.IO connections (official socket.io-client, websocket transport only) and records,
// for every received event, the receipt wall time in ms (performance.timeOrigin + performance.now()).
//
// Driven by scripts/bench_events.py over a line protocol:
//   stdout  "ready <n> <connect_ms>"     all N sockets connected
//           "count <deliveries>"         answer to "count"
//           "dumped <path>"              answer to "dump <path>"
//           "error <message>"            fatal; the process exits 1
//   stdin   "count" | "dump <path>" | "quit"
//
// Usage: node holder.mjs --url http://127.0.0.1:8080 --token T --n 1000 [--event order:created]
//                        [--concurrency 50] [--connect-timeout-s 120] [--deflate on|off]
import { writeFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { io } from "socket.io-client";

function parseArgs(argv) {
  const args = { event: "order:created", concurrency: 50, connectTimeoutS: 120, deflate: true };
  for (let i = 2; i < argv.length; i += 2) {
    const key = argv[i].replace(/^--/, "");
    const value = argv[i + 1];
    if (key === "url") args.url = value;
    else if (key === "token") args.token = value;
    else if (key === "n") args.n = Number(value);
    else if (key === "event") args.event = value;
    else if (key === "concurrency") args.concurrency = Number(value);
    else if (key === "connect-timeout-s") args.connectTimeoutS = Number(value);
    else if (key === "deflate") args.deflate = value !== "off";
    else throw new Error(`unknown option --${key}`);
  }
  if (!args.url || !args.token || !args.n) throw new Error("--url, --token and --n are required");
  return args;
}

const args = parseArgs(process.argv);
const now = () => performance.timeOrigin + performance.now();

// Flat arrays: one entry per delivery. socketIndex, id (data.id or -1), seq (or -1), receipt ms.
const recSocket = [];
const recId = [];
const recSeq = [];
const recTime = [];
let payloadBytes = null;
let sample = null;
let disconnects = 0;
let connectErrors = 0;
const sockets = [];

function openSocket(index) {
  return new Promise((resolve, reject) => {
    let attempts = 0;
    const socket = io(args.url, {
      transports: ["websocket"],
      auth: { token: args.token },
      forceNew: true, // one Engine.IO connection per socket, no multiplexing
      reconnection: false, // a dropped socket must show up as missing deliveries
      timeout: 30000,
      // socket.io-client's default offers permessage-deflate (threshold 1024), as browsers do;
      // "--deflate off" offers none, so the server sends uncompressed frames.
      ...(args.deflate ? {} : { perMessageDeflate: false }),
    });
    socket.on(args.event, (envelope) => {
      const t = now();
      const data = envelope && envelope.data;
      recSocket.push(index);
      recId.push(data && typeof data.id === "number" ? data.id : -1);
      recSeq.push(envelope && typeof envelope.seq === "number" ? envelope.seq : -1);
      recTime.push(t);
      if (payloadBytes === null) {
        payloadBytes = JSON.stringify(envelope).length;
        sample = envelope;
      }
    });
    socket.on("connect", () => resolve(socket));
    socket.on("disconnect", () => {
      if (socket.__ready) disconnects += 1;
    });
    socket.on("connect_error", (err) => {
      connectErrors += 1;
      attempts += 1;
      if (attempts >= 5) {
        reject(new Error(`socket ${index}: ${err.message}`));
        return;
      }
      setTimeout(() => socket.connect(), 200 * attempts);
    });
    sockets[index] = socket;
  });
}

async function connectAll() {
  const started = now();
  let next = 0;
  async function lane() {
    while (next < args.n) {
      const index = next++;
      const socket = await openSocket(index);
      socket.__ready = true;
    }
  }
  const lanes = [];
  for (let i = 0; i < Math.min(args.concurrency, args.n); i++) lanes.push(lane());
  const timeout = new Promise((_, reject) =>
    setTimeout(() => reject(new Error(`not all sockets connected in ${args.connectTimeoutS} s`)), args.connectTimeoutS * 1000).unref(),
  );
  await Promise.race([Promise.all(lanes), timeout]);
  return now() - started;
}

function dump(path) {
  const out = {
    sockets: args.n,
    event: args.event,
    disconnects,
    connect_errors: connectErrors,
    connected_at_dump: sockets.filter((s) => s && s.connected).length,
    payload_bytes: payloadBytes,
    sample,
    socket: recSocket,
    id: recId,
    seq: recSeq,
    t: recTime,
  };
  writeFileSync(path, JSON.stringify(out));
}

function quit(code) {
  for (const s of sockets) if (s) s.close();
  setTimeout(() => process.exit(code), 200).unref();
}

try {
  const connectMs = await connectAll();
  process.stdout.write(`ready ${args.n} ${connectMs.toFixed(0)}\n`);
} catch (err) {
  process.stdout.write(`error ${err.message}\n`);
  quit(1);
}

const rl = createInterface({ input: process.stdin });
rl.on("line", (line) => {
  const [cmd, ...rest] = line.trim().split(" ");
  if (cmd === "count") process.stdout.write(`count ${recTime.length}\n`);
  else if (cmd === "dump") {
    const path = rest.join(" ");
    dump(path);
    process.stdout.write(`dumped ${path}\n`);
  } else if (cmd === "quit") quit(0);
});
rl.on("close", () => quit(0));
