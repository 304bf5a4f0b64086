// A tool in another language on the chatops bus (see asyncapi.yaml at the repository root):
// 1. asks ops for the deployed version: a JSON request on chatops.cmd.version.get, no generated code;
// 2. prints every alert notification as it arrives on chatops.alerts.>, decoding the protobuf
//    AlertNotification with protobufjs straight from proto/chatops/v1/events.proto.
//
// It connects as the read-only tool identity: the nkey seed `chatops up` writes to
// .chatops/creds/tools.nk (NATS_NKEY_SEED_FILE), replies on its own inbox prefix (_INBOX.tools), and
// over TLS when NATS_TLS_CA (and a client certificate, NATS_TLS_CERT / NATS_TLS_KEY) are set.
//
// Usage: NATS_URL=nats://127.0.0.1:4222 NATS_NKEY_SEED_FILE=.chatops/creds/tools.nk \
//          node chatops-tool.mjs [--max-alerts N]
import { connect, headers, JSONCodec, nkeyAuthenticator } from "nats";
import protobuf from "protobufjs";
import { fileURLToPath } from "node:url";
import { readFileSync } from "node:fs";
import path from "node:path";

const here = path.dirname(fileURLToPath(import.meta.url));
const PROTO = path.resolve(here, "../../proto/chatops/v1/events.proto");
const servers = (process.env.NATS_URL || "nats://127.0.0.1:4222").split(",").map((s) => s.trim());
const maxAlerts = Number(argValue("--max-alerts", "0"));
const json = JSONCodec();

function argValue(name, fallback) {
  const at = process.argv.indexOf(name);
  return at >= 0 && at + 1 < process.argv.length ? process.argv[at + 1] : fallback;
}

// Sends one command as JSON and returns the decoded reply, or throws with what went wrong.
async function ask(nc, subject, request) {
  const h = headers();
  h.set("Content-Type", "application/json");
  // Not taken as the actor: ops records this tool as nats:tools, whatever it claims.
  h.set("Chatops-Actor", "tool:node-example");
  h.set("Chatops-Source", "node-example");
  let msg;
  try {
    msg = await nc.request(subject, json.encode(request), { timeout: 10000, headers: h });
  } catch (err) {
    if (err.code === "503") throw new Error("the Ops service is not running (no responders)");
    throw err;
  }
  const code = msg.headers?.get("Nats-Service-Error-Code");
  if (code) throw new Error(`ops answered ${code}: ${msg.headers.get("Nats-Service-Error")}`);
  return json.decode(msg.data);
}

// The same settings the Python components read: an identity, and TLS when asked for.
function connectOptions() {
  const options = { servers, name: "chatops-node-example", inboxPrefix: "_INBOX.tools" };
  const seedFile = process.env.NATS_NKEY_SEED_FILE;
  if (seedFile) options.authenticator = nkeyAuthenticator(new TextEncoder().encode(readFileSync(seedFile, "utf8").trim()));
  const tls = {};
  if (process.env.NATS_TLS_CA) tls.caFile = process.env.NATS_TLS_CA;
  if (process.env.NATS_TLS_CERT) tls.certFile = process.env.NATS_TLS_CERT;
  if (process.env.NATS_TLS_KEY) tls.keyFile = process.env.NATS_TLS_KEY;
  if (Object.keys(tls).length > 0) options.tls = tls;
  return options;
}

function describe(note) {
  const names = [...new Set(note.alerts.map((a) => a.labels.alertname).filter(Boolean))];
  const summary = note.commonAnnotations.summary || note.alerts[0]?.annotations?.summary || "";
  return `[${note.status}/${note.severity}] ${names.join(", ") || "(no alertname)"}` +
    `${summary ? ": " + summary : ""} (${note.alerts.length} alert(s), group ${note.groupKey})`;
}

async function main() {
  const root = await protobuf.load(PROTO);
  const AlertNotification = root.lookupType("chatops.v1.AlertNotification");
  const nc = await connect(connectOptions());

  const reply = await ask(nc, "chatops.cmd.version.get", {});
  const versions = reply.versions || [];
  if (versions.length === 0) console.log("deployed: no version reported yet");
  for (const v of versions) console.log(`deployed: ${v.version} on ${v.instances} instance(s)`);

  const sub = nc.subscribe("chatops.alerts.>");
  await nc.flush(); // the subscription is registered on the server before we say we listen
  console.log("listening for alerts on chatops.alerts.>");
  const stop = () => sub.unsubscribe();
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);

  let seen = 0;
  for await (const m of sub) {
    try {
      const note = AlertNotification.toObject(AlertNotification.decode(m.data), {
        defaults: true, longs: String, enums: String,
      });
      console.log(describe(note));
    } catch (err) {
      console.error(`skipped a message on ${m.subject} that is not an AlertNotification: ${err.message}`);
    }
    seen += 1;
    if (maxAlerts > 0 && seen >= maxAlerts) break;
  }
  await nc.drain();
}

main().catch((err) => {
  console.error(`chatops-tool: ${err.message}`);
  process.exit(1);
});
