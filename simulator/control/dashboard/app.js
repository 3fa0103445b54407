// The dashboard: the fleet table, the timeline and a device page, kept live by the control
// API's event stream (timeline.js); the recorder menu in terminal.js, labels in i18n.js.
"use strict";

const token = new URLSearchParams(location.search).get("token");
const devices = new Map(); // serial -> state
let schema = null; // the control API's OpenAPI document: faults and events to offer

async function api(method, path, body) {
  const headers = { "Content-Type": "application/json" };
  if (token) headers.Authorization = "Bearer " + token;
  const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (!response.ok) throw new Error((await response.json()).error);
  return response.status === 204 ? null : response.json();
}

function cell(text, cls) {
  const td = document.createElement("td");
  td.textContent = text;
  if (cls) td.className = cls;
  return td;
}

// The faults in force, each in a few words (a fault the catalog lacks by its own name).
function faultList(f) {
  const on = Object.entries(f).filter(([, v]) => v).map(([name, value]) => {
    const key = "faults.short." + name;
    return t(key) === key ? (value === true ? name : `${name} ${value}`) : t(key, { value });
  });
  return on.join(", ") || "-";
}

// Each vendor's own cloud (Hik-Connect, Dahua P2P, mydlink), as the control API reports it.
function cloudOf(d) {
  if (!d.cloud) return ["-", ""];
  return [d.cloud.state, d.cloud.online ? "on" : d.cloud.state === "offline" ? "off" : ""];
}

// Where a vendor's cloud link and binding live in its device document, for the online
// toggle and the unbind button (D-Link's mydlink registration is not changed from here).
const CLOUD_FIELDS = {
  hikvision: { section: "hik_connect", online: "online", account: "bound_account" },
  dahua: { section: "dahua", online: "p2p_link", account: "dmss_account" },
};

function shown(d) {
  const text = document.getElementById("search").value.trim().toLowerCase();
  const vendor = document.getElementById("vendor-filter").value;
  const kind = document.getElementById("kind-filter").value;
  const cloud = document.getElementById("cloud-filter").value;
  const haystack = [d.name, d.serial, d.model, d.address, d.firmware].join(" ").toLowerCase();
  return (!text || haystack.includes(text)) && (!vendor || d.vendor === vendor)
    && (!kind || d.kind === kind) && (!cloud || cloudOf(d)[0] === cloud);
}

function fillFilter(id, values) {
  const select = document.getElementById(id);
  const have = new Set([...select.options].map((o) => o.value));
  for (const v of [...new Set(values)].sort()) {
    if (!have.has(v)) select.append(new Option(v, v));
  }
}

function renderFleet() {
  const body = document.querySelector("#fleet tbody");
  body.replaceChildren();
  fillFilter("vendor-filter", [...devices.values()].map((d) => d.vendor));
  fillFilter("cloud-filter", [...devices.values()].map((d) => cloudOf(d)[0]));
  const visible = [...devices.values()].filter(shown);
  document.getElementById("shown").textContent = t("filter.shown", { shown: visible.length, total: devices.size });
  for (const d of visible) {
    const row = document.createElement("tr");
    row.dataset.serial = d.serial;
    const [cloud, cloudClass] = cloudOf(d);
    row.append(
      cell(d.name), cell(d.serial), cell(d.model), cell(d.firmware), cell(`${d.address.split("/")[0]}:${d.ports.http}`),
      cell(d.status.powered ? t("on") : t("rebooting"), d.status.powered ? "on" : "off"),
      cell(d.admin_password === null ? t("no") : t("yes")),
      cell(cloud, cloudClass), cell((d.cloud && d.cloud.bound_account) || "-"),
      cell(Object.keys(d.status.locked_clients).length ? Object.keys(d.status.locked_clients).join(", ") : "-"),
      cell(faultList(d.status.effective_faults)),
    );
    row.addEventListener("click", () => { location.hash = "#/device/" + encodeURIComponent(d.serial); });
    body.append(row);
  }
}

function renderDevice(serial) {
  const d = devices.get(serial);
  if (!d) return;
  document.getElementById("device-title").textContent = `${d.name} — ${d.model} — ${t("serial.short")} ${d.serial}`;
  const dl = document.getElementById("device-state");
  dl.replaceChildren();
  const [cloud] = cloudOf(d);
  const facts = [
    ["fact.firmware", d.firmware + (d.pending_firmware ? ` (${t("fact.next", { version: d.pending_firmware })})` : "")],
    ["fact.vendor", `${d.vendor} ${d.kind}`], ["fact.mac", d.mac], ["fact.uuid", d.uuid],
    ["fact.address", d.address], ["fact.ports", Object.entries(d.ports).map(([k, v]) => `${k} ${v}`).join(", ")],
    ["fact.password", d.admin_password ?? t("fact.not_activated")],
    ["fact.power", d.status.powered ? t("on") : t("rebooting")],
    ["fact.activated", d.admin_password === null ? t("no") : t("yes")],
    ["fact.cloud", d.cloud ? `${d.cloud.name}: ${cloud}` + (d.hik_connect ? ` (${d.hik_connect.server})` : "") : "-"],
    ["fact.bound", (d.cloud && d.cloud.bound_account) || "-"],
    ["fact.locked", Object.entries(d.status.locked_clients).map(([c, s]) => `${c} (${s}s)`).join(", ") || "-"],
  ];
  const fields = CLOUD_FIELDS[d.vendor];
  document.getElementById("toggle-online").hidden = !fields;
  document.getElementById("unbind").hidden = !fields;
  for (const [k, v] of facts) {
    const dt = document.createElement("dt"); dt.textContent = t(k);
    const dd = document.createElement("dd"); dd.textContent = v;
    dl.append(dt, dd);
  }
  fillFields(document.getElementById("fault-fields"), d.faults);
  document.getElementById("menu").hidden = !["nvr", "dvr"].includes(d.kind);
  renderStreams(d.streams);
  document.getElementById("raise").hidden = !raising(d);
}

// The stream URLs, when the device document describes them.
function renderStreams(streams) {
  const body = document.querySelector("#streams tbody");
  body.replaceChildren(...(streams || []).map((s) => {
    const row = document.createElement("tr");
    const url = cell(s.url, "url");
    row.append(cell(s.channel), cell(s.stream), url,
      cell(`${s.codec} ${s.width}×${s.height} ${s.fps} fps ${s.bitrate_kbps} kbit/s`));
    return row;
  }));
  document.getElementById("streams").hidden = !(streams && streams.length);
  document.getElementById("streams-none").hidden = Boolean(streams && streams.length);
}

// "Raise an event": the control API's POST under a device whose path names events, when it
// has one (its body drawn from the schema); shown for devices that have events to raise.
function raiseOperation() {
  if (!schema) return null;
  const path = Object.keys(schema.paths).find((p) => /^\/api\/devices\/\{serial\}\/events?\b/.test(p) && schema.paths[p].post);
  return path ? { path, body: resolve(schema, schema.paths[path].post.requestBody?.content?.["application/json"]?.schema) } : null;
}

function raising(d) {
  return raiseOperation() !== null && (d.events === undefined || (Array.isArray(d.events) ? d.events.length > 0 : Boolean(d.events)));
}

// The device's snapshot, fetched afresh every few seconds while its page is open.
const SNAPSHOT_SECONDS = 5;

function refreshSnapshot() {
  const serial = currentSerial();
  if (!serial) return;
  const img = document.getElementById("snapshot");
  const query = new URLSearchParams({ t: Date.now() });
  if (token) query.set("token", token);
  img.src = `/api/devices/${encodeURIComponent(serial)}/snapshot?${query}`;
}

async function renderLog(serial) {
  const log = await api("GET", `/api/devices/${encodeURIComponent(serial)}/log`);
  document.querySelector("#log tbody").replaceChildren(...log.reverse().map((e) => {
    const row = document.createElement("tr");
    row.append(cell(new Date(e.time * 1000).toISOString().slice(11, 19)), cell(e.data.protocol),
               cell(e.data.client), cell(e.data.request), cell(e.data.reply));
    return row;
  }));
}

function currentSerial() {
  const m = location.hash.match(/^#\/device\/(.+)$/);
  return m ? decodeURIComponent(m[1]) : null;
}

let shownSerial = null; // the device whose page is drawn

function route() {
  const serial = currentSerial();
  document.getElementById("fleet-view").hidden = serial !== null;
  document.getElementById("device-view").hidden = serial === null;
  if (serial !== shownSerial) {
    closeMenu();
    document.getElementById("device-timeline").replaceChildren(
      ...(recent.get(serial) || []).map((e) => timelineItem(e, deviceName)).reverse());
  }
  shownSerial = serial;
  if (serial) {
    renderDevice(serial); renderLog(serial); refreshSnapshot(); showMenuSessions(serial);
  } else renderFleet();
}

async function refresh(serial) {
  const d = await api("GET", `/api/devices/${encodeURIComponent(serial)}`);
  devices.set(d.serial, d);
  renderFleet();
  if (currentSerial() === d.serial) renderDevice(d.serial);
}

function showClock(c) {
  document.getElementById("clock").textContent = c.iso + (c.speed !== null && c.speed !== 1 ? ` ×${c.speed}` : "");
}

function deviceName(serial) {
  const d = devices.get(serial);
  return d ? d.name : serial;
}

function connection(state) {
  const badge = document.getElementById("connection");
  badge.dataset.i18n = "connection." + state;
  badge.textContent = t(badge.dataset.i18n);
  badge.className = state === "live" ? "badge live" : "badge";
}

// Each device's last events, for its page (the fleet's timeline keeps only the last 200).
const recent = new Map();
const RECENT_PER_DEVICE = 50;

// Each event: into the timeline (and the device page's recent events), then what it changes.
function onEvent(e) {
  const item = timelineItem(e, deviceName);
  prependCapped(document.getElementById("timeline"), item);
  if (e.serial) {
    const list = recent.get(e.serial) || [];
    list.push(e);
    if (list.length > RECENT_PER_DEVICE) list.shift();
    recent.set(e.serial, list);
  }
  if (e.serial && e.serial === currentSerial()) prependCapped(document.getElementById("device-timeline"), item.cloneNode(true));
  if (["device.changed", "device.added", "device.up", "device.down"].includes(e.kind)) {
    soon("device " + e.serial, () => refresh(e.serial));
    soon("scenario", showScenario);
  }
  if (e.kind === "device.removed") { devices.delete(e.serial); renderFleet(); }
  if (e.kind === "fleet.faults") soon("load", load);
  if (e.kind === "clock") showClock(e.data);
  if (e.serial && e.serial === currentSerial()) {
    if (e.kind === "exchange") soon("log", () => renderLog(e.serial));
    if (e.kind.startsWith("menu.")) soon("sessions", () => showMenuSessions(e.serial));
  }
}

// Work an event asks for, done once for a burst of events (the history replayed at first).
const pending = new Map();

function soon(key, work) {
  if (pending.has(key)) return;
  pending.set(key, setTimeout(() => { pending.delete(key); work(); }, 50));
}

function listen() {
  onStreamEvent(onEvent);
  followStream(connection);
}

// The training scenario, when the fleet runs one: the brief, hints one at a time on
// request, and each goal ticking from ✘ to ✔ as the trainees reach it.
let hintsShown = 0;

async function showScenario() {
  let s;
  try {
    s = await api("GET", "/api/scenario");
  } catch {
    return; // no scenario: the panel stays hidden
  }
  document.getElementById("scenario").hidden = false;
  document.getElementById("scenario-title").textContent = s.title;
  document.getElementById("scenario-brief").textContent = s.brief;
  const goals = document.getElementById("scenario-goals");
  goals.replaceChildren(...s.goals.map((g) => {
    const li = document.createElement("li");
    li.textContent = `${g.says} (${g.device})`;
    li.className = g.reached ? "reached" : "";
    li.title = g.problems.join("; ");
    return li;
  }));
  const hints = document.getElementById("scenario-hints");
  hints.replaceChildren(...s.hints.slice(0, hintsShown).map((h) => {
    const li = document.createElement("li");
    li.textContent = h;
    return li;
  }));
  document.getElementById("hint").hidden = hintsShown >= s.hints.length;
}

// "1 device", "2 devices": the language's own plural rule picks the key.
function fleetName(fields) {
  return t("fleet.devices." + new Intl.PluralRules(i18n.lang).select(fields.count), fields);
}

async function load() {
  const [fleet, list] = await Promise.all([api("GET", "/api/fleet"), api("GET", "/api/devices")]);
  const name = document.getElementById("fleet-name");
  name.dataset.fields = JSON.stringify({ name: fleet.name, count: fleet.devices });
  name.textContent = fleetName(JSON.parse(name.dataset.fields));
  showClock(fleet.clock);
  devices.clear();
  for (const d of list) devices.set(d.serial, d);
  route();
  showScenario();
}

function onDevice(action) {
  return async () => {
    const serial = currentSerial();
    const d = devices.get(serial);
    const path = `/api/devices/${encodeURIComponent(serial)}`;
    const error = document.getElementById("action-error");
    error.textContent = "";
    try {
      await action(path, d);
    } catch (e) {
      error.textContent = e.message; // the API's own words; nothing changed
    }
    await refresh(serial);
  };
}

function cloudPatch(d, change) {
  const f = CLOUD_FIELDS[d.vendor];
  return { [f.section]: change(f, d[f.section]) };
}

document.getElementById("toggle-online").onclick = onDevice((p, d) =>
  api("PATCH", p, cloudPatch(d, (f, s) => ({ [f.online]: !s[f.online] }))));
document.getElementById("unbind").onclick = onDevice((p, d) =>
  api("PATCH", p, cloudPatch(d, (f) => ({ [f.account]: null }))));
document.getElementById("password").onsubmit = (ev) => {
  ev.preventDefault();
  const password = ev.target.elements.password.value;
  onDevice((p) => api("PATCH", p, { admin_password: password }))();
};
document.getElementById("upgrade").onsubmit = (ev) => {
  ev.preventDefault();
  const version = ev.target.elements.version.value;
  onDevice((p) => api("POST", p + "/upgrade", { version }))();
};
for (const id of ["search", "vendor-filter", "kind-filter", "cloud-filter"]) {
  document.getElementById(id).addEventListener("input", renderFleet);
}
document.getElementById("reboot").onclick = onDevice((p) => api("POST", p + "/reboot", {}));
document.getElementById("factory-reset").onclick = onDevice((p) => api("POST", p + "/factory-reset"));
document.getElementById("faults").onsubmit = (ev) => {
  ev.preventDefault();
  const faults = formBody(document.getElementById("fault-fields"));
  onDevice((p) => api("PUT", p + "/faults", faults))();
};
document.getElementById("raise-form").onsubmit = (ev) => {
  ev.preventDefault();
  const body = formBody(document.getElementById("raise-fields"));
  const op = raiseOperation();
  onDevice(() => api("POST", op.path.replace("{serial}", encodeURIComponent(currentSerial())), body))();
};
document.getElementById("menu-open").onclick = () => openMenu(currentSerial());
document.getElementById("menu-close").onclick = () => { closeMenu(); showMenuSessions(currentSerial()); };
const snapshot = document.getElementById("snapshot");
snapshot.onload = () => { snapshot.hidden = false; document.getElementById("snapshot-missing").hidden = true; };
snapshot.onerror = () => { snapshot.hidden = true; document.getElementById("snapshot-missing").hidden = false; };
setInterval(refreshSnapshot, SNAPSHOT_SECONDS * 1000);
document.getElementById("back").onclick = (ev) => { ev.preventDefault(); location.hash = ""; };
document.getElementById("advance").onclick = async () => {
  showClock(await api("POST", "/api/clock/advance", { seconds: Number(document.getElementById("advance-hours").value) * 3600 }));
};
document.getElementById("set-speed").onclick = async () => {
  showClock(await api("PUT", "/api/clock", { speed: Number(document.getElementById("speed").value) }));
};
document.getElementById("hint").onclick = () => { hintsShown += 1; showScenario(); };
window.addEventListener("hashchange", route);

// The forms the schema draws: every fault the API offers, and the event it can raise.
async function loadSchema() {
  schema = await api("GET", "/api/openapi.json");
  drawFields(document.getElementById("fault-fields"), resolve(schema, schema.components.schemas.FaultsChange), "fault.");
  const op = raiseOperation();
  if (op && op.body) drawFields(document.getElementById("raise-fields"), op.body, "raise.");
}

onLanguage(() => {
  const name = document.getElementById("fleet-name");
  if (name.dataset.fields) name.textContent = fleetName(JSON.parse(name.dataset.fields));
  if (devices.size) { shownSerial = currentSerial(); route(); }
});
loadLanguages().then(loadSchema).then(load).then(listen);
