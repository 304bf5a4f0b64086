// The emulator's chat page: pick a user, pick a channel, talk to the bot, click its buttons.
"use strict";

const ui = {
  state: null, channel: null, threadTs: null, users: {},
  $: (id) => document.getElementById(id),
};

async function api(method, path, body) {
  const resp = await fetch(path, {
    method, headers: { "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = await resp.json();
  if (!data.ok) throw new Error(data.error || `HTTP ${resp.status}`);
  return data;
}

function showError(err) { ui.$("error").textContent = err ? String(err.message || err) : ""; }

function currentUser() { return ui.$("user-select").value; }

async function loadState() {
  ui.state = await api("GET", "/control/state");
  ui.users = Object.fromEntries(ui.state.users.map((u) => [u.id, u.name]));
  const select = ui.$("user-select");
  const chosen = select.value;
  select.innerHTML = "";
  for (const user of ui.state.users.filter((u) => !u.is_bot)) {
    const option = new Option(`${user.name} (${user.real_name})`, user.id);
    select.add(option);
  }
  if (chosen) select.value = chosen;
  renderChannelList();
  ui.$("mode").textContent = ui.state.mode === "http"
    ? `Events API → ${ui.state.request_url}` : `Socket Mode, ${ui.state.socket_connections} connection(s)`;
  if (!ui.channel && ui.state.channels.length) selectChannel(ui.state.channels[0].id);
}

function renderChannelList() {
  const fill = (list, channels, label) => {
    list.innerHTML = "";
    for (const ch of channels) {
      const li = document.createElement("li");
      li.dataset.id = ch.id;
      li.textContent = label(ch);
      li.className = ch.id === ui.channel ? "active" : "";
      li.addEventListener("click", () => selectChannel(ch.id));
      list.appendChild(li);
    }
  };
  fill(ui.$("channels"), ui.state.channels.filter((c) => !c.is_im), (c) => `# ${c.name}`);
  fill(ui.$("dms"), ui.state.channels.filter((c) => c.is_im), (c) => `${ui.users[c.user]} ↔ bot`);
}

function selectChannel(id) {
  ui.channel = id;
  ui.threadTs = null;
  ui.$("thread-target").hidden = true;
  const ch = ui.state.channels.find((c) => c.id === id);
  ui.$("channel-title").textContent = ch.is_im ? `DM: ${ui.users[ch.user]} and the bot` : `# ${ch.name}`;
  renderChannelList();
  refreshMessages();
}

function replyTo(ts) {
  ui.threadTs = ts;
  ui.$("thread-ts").textContent = ts;
  ui.$("thread-target").hidden = false;
  ui.$("text").focus();
}

async function clickButton(message, element) {
  showError(null);
  try {
    await api("POST", "/control/actions", {
      user_id: currentUser(), channel_id: ui.channel, message_ts: message.ts,
      action_id: element.action_id, value: element.value ?? null,
    });
  } catch (err) { showError(err); }
}

// A legacy attachment (what incoming webhooks such as Alertmanager's send): a coloured bar, title, text.
function renderAttachment(att) {
  const box = document.createElement("div");
  box.className = "attachment";
  const colours = { danger: "#e01e5a", warning: "#ecb22e", good: "#2eb67d" };
  box.style.borderLeftColor = colours[att.color] || (/^#[0-9a-f]{3,6}$/i.test(att.color || "") ? att.color : "#ddd");
  const title = att.title ? `<div class="attachment-title">${escapeHtml(att.title)}</div>` : "";
  box.innerHTML = title + `<div>${mrkdwn(att.text || (att.title ? "" : att.fallback || ""), ui.users)}</div>`;
  return box;
}

function renderMessage(msg) {
  const div = document.createElement("div");
  const isBot = Boolean(msg.bot_id);
  div.className = "message" + (isBot ? " bot" : "") + (msg.ephemeral_to ? " ephemeral" : "");
  div.dataset.ts = msg.ts;
  div.dataset.user = msg.user;
  const time = new Date(Number(msg.ts) * 1000).toLocaleTimeString();
  div.innerHTML = `<div class="meta"><span class="author">${escapeHtml(ui.users[msg.user] || msg.user)}</span>`
    + `${time}${msg.edited ? ' <span class="edited">(edited)</span>' : ""}`
    + `${msg.ephemeral_to ? ` <span class="muted">only visible to ${escapeHtml(ui.users[msg.ephemeral_to])}</span>` : ""}`
    + "</div>";
  const body = document.createElement("div");
  body.className = "text";
  if (msg.blocks && msg.blocks.length && !msg.blocks.every((b) => b.type === "rich_text")) {
    body.appendChild(renderBlocks(msg.blocks, ui.users, (el) => clickButton(msg, el)));
  } else {
    body.innerHTML = mrkdwn(msg.text, ui.users);
  }
  div.appendChild(body);
  if (msg.files && msg.files.length) div.appendChild(renderFiles(msg.files));
  for (const att of msg.attachments || []) body.appendChild(renderAttachment(att));
  if (msg.reactions) {
    const r = document.createElement("div");
    r.className = "reactions";
    r.innerHTML = msg.reactions.map((x) => `<span title=":${escapeHtml(x.name)}:">${emoji(`:${escapeHtml(x.name)}:`)} ${x.count}</span>`).join("");
    div.appendChild(r);
  }
  if (!msg.thread_ts || msg.thread_ts === msg.ts) {
    const link = document.createElement("span");
    link.className = "reply-link";
    link.textContent = msg.reply_count ? `${msg.reply_count} repl${msg.reply_count === 1 ? "y" : "ies"} · reply` : "reply in thread";
    link.addEventListener("click", () => replyTo(msg.ts));
    div.querySelector(".meta").appendChild(link);
  }
  return div;
}

// A file share: images are shown (served by the emulator's control API), other files are links.
function renderFiles(files) {
  const box = document.createElement("div");
  box.className = "files";
  for (const file of files) {
    const src = `/control/files/${encodeURIComponent(file.id)}`;
    const figure = document.createElement("figure");
    figure.className = "file";
    figure.dataset.fileId = file.id;
    if (String(file.mimetype || "").startsWith("image/")) {
      const img = document.createElement("img");
      img.src = src;
      img.alt = file.alt_txt || file.title || file.name;
      if (file.original_w && file.original_h) { img.width = file.original_w; img.height = file.original_h; }
      figure.appendChild(img);
    }
    const caption = document.createElement("figcaption");
    const a = document.createElement("a");
    a.href = src; a.target = "_blank"; a.rel = "noopener";
    a.textContent = file.title || file.name;
    caption.appendChild(a);
    const size = file.size < 1024 ? `${file.size || 0} B` : `${Math.round(file.size / 1024)} KB`;
    caption.appendChild(document.createTextNode(` · ${file.pretty_type || file.filetype} · ${size}`));
    figure.appendChild(caption);
    box.appendChild(figure);
  }
  return box;
}

async function refreshMessages() {
  if (!ui.channel) return;
  const channel = ui.channel;
  const data = await api("GET", `/control/messages?channel=${encodeURIComponent(channel)}`);
  if (channel !== ui.channel) return;
  const box = ui.$("messages");
  const atBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 40;
  box.innerHTML = "";
  const live = data.messages.filter((m) => !m.deleted);
  const threads = {};
  for (const m of live) {
    if (m.thread_ts && m.thread_ts !== m.ts) (threads[m.thread_ts] ||= []).push(m);
  }
  for (const m of live) {
    if (m.thread_ts && m.thread_ts !== m.ts) continue;
    box.appendChild(renderMessage(m));
    if (threads[m.ts]) {
      const t = document.createElement("div");
      t.className = "thread";
      t.dataset.threadTs = m.ts;
      for (const reply of threads[m.ts]) t.appendChild(renderMessage(reply));
      box.appendChild(t);
    }
  }
  if (atBottom) box.scrollTop = box.scrollHeight;
}

async function send(event) {
  event.preventDefault();
  showError(null);
  const area = ui.$("text");
  let text = area.value.trim();
  if (!text || !ui.channel) return;
  // "@name" becomes Slack's <@ID> so typing "@chatops" mentions the bot.
  for (const user of ui.state.users) text = text.replaceAll(`@${user.name}`, `<@${user.id}>`);
  try {
    await api("POST", "/control/messages", {
      user_id: currentUser(), channel_id: ui.channel, text, thread_ts: ui.threadTs,
    });
    area.value = "";
  } catch (err) { showError(err); }
}

function connectLive() {
  const ws = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/control/live`);
  ws.onopen = () => { ui.$("status").textContent = "live"; };
  ws.onmessage = (event) => {
    const change = JSON.parse(event.data);
    if (!change.channel || !ui.state.channels.some((c) => c.id === change.channel)) {
      loadState().catch(showError);
    }
    if (change.channel === ui.channel) refreshMessages().catch(showError);
  };
  ws.onclose = () => {
    ui.$("status").textContent = "reconnecting…";
    setTimeout(connectLive, 1000);
  };
}

window.addEventListener("DOMContentLoaded", () => {
  ui.$("composer").addEventListener("submit", send);
  ui.$("text").addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey) send(e);
  });
  ui.$("cancel-thread").addEventListener("click", () => { ui.threadTs = null; ui.$("thread-target").hidden = true; });
  ui.$("open-dm").addEventListener("click", async () => {
    try {
      const data = await api("POST", "/control/ims", { user_id: currentUser() });
      await loadState();
      selectChannel(data.channel.id);
    } catch (err) { showError(err); }
  });
  ui.$("new-channel").addEventListener("submit", async (e) => {
    e.preventDefault();
    try {
      const data = await api("POST", "/control/channels", { name: ui.$("new-channel-name").value });
      ui.$("new-channel-name").value = "";
      await loadState();
      selectChannel(data.channel.id);
    } catch (err) { showError(err); }
  });
  loadState().then(connectLive).catch(showError);
  // Polling as a safety net when the live socket is down.
  setInterval(() => { if (ui.$("status").textContent !== "live") refreshMessages().catch(() => {}); }, 2000);
});
