// The recorder's local menu in the page: xterm.js on the control API's menu WebSocket.
// The session runs in the simulator, on the live device (firmware_menu/live.py): this
// side sends keys, clicks and the window's size, and draws what comes back. A watcher's
// terminal takes no input and is drawn at its owner's size.
"use strict";

const menu = { term: null, ws: null, fit: null, sessionId: null, watching: false };

function menuUrl(serial, query) {
  const params = new URLSearchParams(query);
  if (token) params.set("token", token);
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${location.host}/api/devices/${encodeURIComponent(serial)}/menu?${params}`;
}

function menuStatus(key, fields) {
  const status = document.getElementById("menu-status");
  status.dataset.i18n = key;
  status.textContent = t(key, fields);
  status.dataset.fields = JSON.stringify(fields || {});
}

onLanguage((lang) => {
  const status = document.getElementById("menu-status");
  if (status.dataset.i18n) status.textContent = t(status.dataset.i18n, JSON.parse(status.dataset.fields || "{}"));
  // the session's menu follows the page (a watcher's follows its owner's)
  if (menu.ws && !menu.watching && menu.ws.readyState === WebSocket.OPEN) menu.ws.send(JSON.stringify({ lang }));
});

function closeMenu() {
  if (menu.ws) menu.ws.close();
  if (menu.term) menu.term.dispose();
  Object.assign(menu, { term: null, ws: null, fit: null, sessionId: null, watching: false });
  document.getElementById("menu-close").hidden = true;
  document.getElementById("menu-open").hidden = false;
  document.getElementById("menu-status").removeAttribute("data-i18n");
  document.getElementById("menu-status").textContent = "";
}

// Open a session of our own (watch === undefined) or watch session `watch` read-only.
function openMenu(serial, watch) {
  closeMenu();
  if (typeof Terminal === "undefined") { document.getElementById("menu-missing").hidden = false; return; }
  const term = new Terminal({
    fontFamily: "ui-monospace, 'DejaVu Sans Mono', monospace", fontSize: 13, cursorBlink: !watch,
    disableStdin: Boolean(watch), theme: { background: "#151515" },
  });
  const fit = new FitAddon.FitAddon();
  term.loadAddon(fit);
  term.open(document.getElementById("terminal"));
  if (!watch) fit.fit();
  const query = watch ? { watch } : { columns: term.cols, rows: term.rows, lang: i18n.lang };
  const ws = new WebSocket(menuUrl(serial, query));
  ws.binaryType = "arraybuffer";
  Object.assign(menu, { term, ws, fit, watching: Boolean(watch), sessionId: watch || null });
  ws.onmessage = (m) => {
    if (typeof m.data !== "string") { term.write(new Uint8Array(m.data)); return; }
    const doc = JSON.parse(m.data);
    if (doc.session) { menu.sessionId = doc.session; menuStatus("menu.yours", { id: doc.session }); }
    if (doc.columns && watch) term.resize(doc.columns, doc.rows); // drawn at the owner's size
  };
  ws.onclose = () => { if (menu.ws === ws) menuStatus("menu.ended"); };
  if (watch) menuStatus("menu.watching", { id: watch });
  else {
    const send = (data) => { if (ws.readyState === WebSocket.OPEN) ws.send(new TextEncoder().encode(data)); };
    term.onData(send);
    term.onBinary((data) => { if (ws.readyState === WebSocket.OPEN) ws.send(Uint8Array.from(data, (c) => c.charCodeAt(0))); });
    term.onResize(({ cols, rows }) => { if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ columns: cols, rows })); });
    term.focus();
  }
  document.getElementById("menu-close").hidden = false;
  document.getElementById("menu-open").hidden = Boolean(!watch);
}

window.addEventListener("resize", () => { if (menu.fit && !menu.watching) menu.fit.fit(); });

// The sessions open on this device, each with a button to watch it (ours excepted).
async function showMenuSessions(serial) {
  const list = document.getElementById("menu-sessions");
  const sessions = await api("GET", "/api/menu-sessions?serial=" + encodeURIComponent(serial));
  const buttons = sessions.filter((s) => s.id !== menu.sessionId).map((s) => {
    const button = document.createElement("button");
    button.className = "watch";
    button.dataset.session = s.id;
    button.textContent = t("menu.watch", { id: s.id });
    button.onclick = () => { openMenu(serial, s.id); showMenuSessions(serial); };
    return button;
  });
  if (buttons.length) list.replaceChildren(...buttons);
  else { list.dataset.i18n = "menu.none"; list.textContent = t("menu.none"); }
  if (buttons.length) delete list.dataset.i18n;
}
