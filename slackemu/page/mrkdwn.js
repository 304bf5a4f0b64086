// Slack "mrkdwn" to safe HTML: escape first, then apply the few formats Slack has.
"use strict";

// The shortcodes the ChatOps bot (and people reacting to it) use, as the characters Slack shows.
const EMOJI = {
  warning: "\u26a0\ufe0f", red_circle: "\ud83d\udd34", large_orange_circle: "\ud83d\udfe0",
  large_blue_circle: "\ud83d\udd35", bell: "\ud83d\udd14", no_bell: "\ud83d\udd15",
  white_check_mark: "\u2705", fire: "\ud83d\udd25", arrows_counterclockwise: "\ud83d\udd04",
  hourglass_flowing_sand: "\u23f3", chart_with_upwards_trend: "\ud83d\udcc8", rotating_light: "\ud83d\udea8",
  heavy_check_mark: "\u2714\ufe0f", x: "\u274c", eyes: "\ud83d\udc40", "+1": "\ud83d\udc4d",
  thumbsup: "\ud83d\udc4d", tada: "\ud83c\udf89", rocket: "\ud83d\ude80", mag: "\ud83d\udd0d",
};

function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) => (
    { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
}

function unescapeHtml(text) {
  return String(text).replace(/&(amp|lt|gt|quot|#39);/g, (_, e) => (
    { amp: "&", lt: "<", gt: ">", quot: '"', "#39": "'" }[e]));
}

// Unknown shortcodes stay as typed, as in Slack; so do things like "12:30:45".
function emoji(text) {
  return String(text).replace(/:([a-z0-9_+-]+):/g, (whole, name) => EMOJI[name] || whole);
}

// A link's target as Slack sent it (with &amp; for &), HTML-escaped once for an attribute.
function linkTarget(escaped) {
  return escapeHtml(unescapeHtml(unescapeHtml(escaped)));
}

function link(url, label) {
  const shown = label === undefined ? linkTarget(url) : emoji(escapeHtml(unescapeHtml(unescapeHtml(label))));
  return `<a href="${linkTarget(url)}" target="_blank" rel="noopener">${shown}</a>`;
}

function mrkdwn(text, users) {
  const kept = [];
  const keep = (html) => { kept.push(html); return `\u0000${kept.length - 1}\u0000`; };
  // Code first, so nothing inside it is formatted; then links, so their URLs stay whole.
  let html = escapeHtml(text)
    .replace(/```([\s\S]*?)```/g, (_, code) => keep(`<pre>${code}</pre>`))
    .replace(/`([^`\n]+)`/g, (_, code) => keep(`<code>${code}</code>`))
    .replace(/&lt;(https?:\/\/[^\s|]+?)(?:\|(.*?))?&gt;/g, (_, url, label) => keep(link(url, label)));
  html = html
    .replace(/&lt;@([A-Z0-9]+)(?:\|[^&]*)?&gt;/g, (_, id) => `<span class="mention">@${escapeHtml(users[id] || id)}</span>`)
    .replace(/&lt;#([A-Z0-9]+)(?:\|([^&]*))?&gt;/g, (_, id, name) => `<span class="mention">#${name || id}</span>`)
    .replace(/&lt;!(here|channel|everyone)&gt;/g, '<span class="mention">@$1</span>')
    // A user group, and a date Slack shows in each reader's terms: here its fallback text (UTC).
    .replace(/&lt;!subteam\^([A-Z0-9]+)(?:\|([^&]*))?&gt;/g, (_, id, name) => `<span class="mention">@${name || id}</span>`)
    .replace(/&lt;!date\^(\d+)\^[^|&]*\|([^&]*)&gt;/g, (_, at, shown) => `<time data-unix="${at}">${shown}</time>`)
    .replace(/(^|[\s(])\*([^*\n]+)\*/g, "$1<b>$2</b>")
    .replace(/(^|[\s(])_([^_\n]+)_/g, "$1<i>$2</i>")
    .replace(/(^|[\s(])~([^~\n]+)~/g, "$1<s>$2</s>")
    .replace(/^&gt; ?(.*)$/gm, "<blockquote>$1</blockquote>")
    .replace(/\n/g, "<br>");
  html = emoji(html);
  return html.replace(/\u0000(\d+)\u0000/g, (_, i) => kept[Number(i)]);
}
