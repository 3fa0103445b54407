// The control API's event stream, read with fetch rather than EventSource: EventSource only
// hands a page the event kinds it names in advance (the API gains kinds: rtsp, device
// events) and cannot send a token header. On every (re)connection the page sends
// Last-Event-ID, the last id it has (0 at first: the recent history), and keeps each id once.
"use strict";

const stream = { lastId: 0, handlers: [], retry: 1000 };

function onStreamEvent(handler) { stream.handlers.push(handler); }

function deliver(event) {
  if (event.id <= stream.lastId) return; // ids only grow: never twice, whatever is replayed
  stream.lastId = event.id;
  for (const handler of stream.handlers) handler(event);
}

// One SSE message's lines ("event:", "data:", "id:"; ":" is a ping) into its data.
function parseMessage(block) {
  const data = [];
  for (const line of block.split("\n")) {
    if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
  }
  return data.length ? JSON.parse(data.join("\n")) : null;
}

async function readStream(status) {
  const headers = { "Last-Event-ID": String(stream.lastId) };
  if (token) headers.Authorization = "Bearer " + token;
  const response = await fetch("/api/events", { headers, cache: "no-store" });
  if (!response.ok || !response.body) throw new Error(response.statusText);
  status("live");
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value.replace(/\r\n?/g, "\n");
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const event = parseMessage(buffer.slice(0, end));
      buffer = buffer.slice(end + 2);
      if (event) deliver(event);
    }
  }
}

// Read the stream for as long as the page is open, reconnecting a second after it drops.
async function followStream(status) {
  for (;;) {
    try {
      await readStream(status);
    } catch {
      // refused or cut: try again
    }
    status("reconnecting");
    await new Promise((resolve) => setTimeout(resolve, stream.retry));
  }
}

// --- drawing it -------------------------------------------------------------------------

const TIMELINE_LENGTH = 200;

function summary(e) {
  const d = e.data || {};
  if (e.kind === "exchange") return `${d.protocol} ${d.client}: ${d.request} → ${d.reply}`;
  if (e.kind === "device.changed") {
    const changes = Object.entries(d.changes || {});
    const shown = changes.slice(0, 6).map(([k, [a, b]]) => `${k}: ${brief(a)} → ${brief(b)}`);
    return shown.join("; ") + (changes.length > 6 ? `; … (+${changes.length - 6})` : "");
  }
  if (e.kind === "clock") return d.iso || "";
  const rest = Object.entries(d).filter(([k]) => k !== "serial").map(([k, v]) => `${k}=${typeof v === "object" ? JSON.stringify(v) : v}`);
  return rest.join(", ");
}

// A changed value in a few characters (a whole section, first seen, would fill the line).
function brief(value) {
  const text = JSON.stringify(value);
  return text.length > 40 ? text.slice(0, 39) + "…" : text;
}

function kindLabel(kind) {
  const key = "event." + kind;
  return t(key) === key ? kind : t(key);
}

function timelineItem(e, deviceName) {
  const li = document.createElement("li");
  li.dataset.id = e.id;
  li.dataset.kind = e.kind;
  const time = document.createElement("time");
  time.textContent = new Date(e.time * 1000).toISOString().slice(11, 19);
  const kind = document.createElement("span");
  kind.className = "kind";
  kind.dataset.kind = e.kind;
  kind.textContent = kindLabel(e.kind);
  const who = document.createElement("span");
  who.className = "who";
  who.textContent = e.serial ? deviceName(e.serial) : "";
  const what = document.createElement("span");
  what.className = "what";
  what.textContent = summary(e);
  li.append(time, kind, who, what);
  return li;
}

function prependCapped(list, item) {
  list.prepend(item);
  while (list.children.length > TIMELINE_LENGTH) list.lastElementChild.remove();
}

onLanguage(() => {
  for (const el of document.querySelectorAll(".timeline .kind")) el.textContent = kindLabel(el.dataset.kind);
});
