// The dashboard: the fleet table and a device page, kept live by the control API's event stream.
"use strict";

const token = new URLSearchParams(location.search).get("token");
const devices = new Map(); // serial -> state

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

function faultList(f) {
  const on = [];
  if (f.discovery_drop) on.push(`drop ${f.discovery_drop}%`);
  if (f.discovery_delay) on.push(`delay ${f.discovery_delay}s`);
  if (f.discovery_malformed) on.push("malformed");
  if (f.auth_fail) on.push("auth fails");
  if (f.cloud_offline) on.push("cloud offline");
  if (f.http_delay) on.push(`slow HTTP ${f.http_delay}s`);
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
  document.getElementById("shown").textContent = `${visible.length} of ${devices.size}`;
  for (const d of visible) {
    const row = document.createElement("tr");
    row.dataset.serial = d.serial;
    const [cloud, cloudClass] = cloudOf(d);
    row.append(
      cell(d.name), cell(d.serial), cell(d.model), cell(d.firmware), cell(`${d.address.split("/")[0]}:${d.ports.http}`),
      cell(d.status.powered ? "on" : "rebooting", d.status.powered ? "on" : "off"),
      cell(d.admin_password === null ? "no" : "yes"),
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
  document.getElementById("device-title").textContent = `${d.name} — ${d.model} — S/N ${d.serial}`;
  const dl = document.getElementById("device-state");
  dl.replaceChildren();
  const [cloud] = cloudOf(d);
  const facts = [
    ["Firmware", d.firmware + (d.pending_firmware ? ` (next: ${d.pending_firmware})` : "")],
    ["Vendor", `${d.vendor} ${d.kind}`], ["MAC", d.mac], ["UUID", d.uuid],
    ["Address", d.address], ["Ports", Object.entries(d.ports).map(([k, v]) => `${k} ${v}`).join(", ")],
    ["Admin password", d.admin_password ?? "(not activated)"],
    ["Power", d.status.powered ? "on" : "rebooting"],
    ["Activated", d.admin_password === null ? "no" : "yes"],
    ["Cloud", d.cloud ? `${d.cloud.name}: ${cloud}` + (d.hik_connect ? ` (${d.hik_connect.server})` : "") : "-"],
    ["Bound to", (d.cloud && d.cloud.bound_account) || "-"],
    ["Locked clients", Object.entries(d.status.locked_clients).map(([c, s]) => `${c} (${s}s)`).join(", ") || "-"],
  ];
  const fields = CLOUD_FIELDS[d.vendor];
  document.getElementById("toggle-online").hidden = !fields;
  document.getElementById("unbind").hidden = !fields;
  for (const [k, v] of facts) {
    const dt = document.createElement("dt"); dt.textContent = k;
    const dd = document.createElement("dd"); dd.textContent = v;
    dl.append(dt, dd);
  }
  const form = document.getElementById("faults");
  if (!form.contains(document.activeElement)) {
    for (const [k, v] of Object.entries(d.faults)) {
      const input = form.elements[k];
      if (input.type === "checkbox") input.checked = v; else input.value = v;
    }
  }
}

async function renderLog(serial) {
  const body = document.querySelector("#log tbody");
  body.replaceChildren();
  for (const e of (await api("GET", `/api/devices/${encodeURIComponent(serial)}/log`)).reverse()) addLogRow(e, false);
}

function addLogRow(e, first = true) {
  const row = document.createElement("tr");
  row.append(cell(new Date(e.time * 1000).toISOString().slice(11, 19)), cell(e.data.protocol),
             cell(e.data.client), cell(e.data.request), cell(e.data.reply));
  const body = document.querySelector("#log tbody");
  first ? body.prepend(row) : body.append(row);
}

function currentSerial() {
  const m = location.hash.match(/^#\/device\/(.+)$/);
  return m ? decodeURIComponent(m[1]) : null;
}

function route() {
  const serial = currentSerial();
  document.getElementById("fleet-view").hidden = serial !== null;
  document.getElementById("device-view").hidden = serial === null;
  if (serial) { renderDevice(serial); renderLog(serial); } else renderFleet();
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

function listen() {
  const source = new EventSource("/api/events" + (token ? "?token=" + encodeURIComponent(token) : ""));
  const badge = document.getElementById("connection");
  source.onopen = () => { badge.textContent = "live"; badge.className = "badge live"; };
  source.onerror = () => { badge.textContent = "reconnecting…"; badge.className = "badge"; };
  for (const kind of ["device.changed", "device.added", "device.up", "device.down"]) {
    source.addEventListener(kind, (m) => { refresh(JSON.parse(m.data).serial); showScenario(); });
  }
  source.addEventListener("device.removed", (m) => { devices.delete(JSON.parse(m.data).serial); renderFleet(); });
  source.addEventListener("fleet.faults", () => load());
  source.addEventListener("clock", (m) => showClock(JSON.parse(m.data).data));
  source.addEventListener("exchange", (m) => {
    const e = JSON.parse(m.data);
    if (e.serial && e.serial === currentSerial()) addLogRow(e);
  });
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

async function load() {
  const [fleet, list] = await Promise.all([api("GET", "/api/fleet"), api("GET", "/api/devices")]);
  document.getElementById("fleet-name").textContent = `${fleet.name}: ${fleet.devices} devices`;
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
  const form = ev.target;
  const faults = {};
  for (const input of form.querySelectorAll("input")) {
    faults[input.name] = input.type === "checkbox" ? input.checked : Number(input.value || 0);
  }
  onDevice((p) => api("PUT", p + "/faults", faults))();
};
document.getElementById("back").onclick = (ev) => { ev.preventDefault(); location.hash = ""; };
document.getElementById("advance").onclick = async () => {
  showClock(await api("POST", "/api/clock/advance", { seconds: Number(document.getElementById("advance-hours").value) * 3600 }));
};
document.getElementById("set-speed").onclick = async () => {
  showClock(await api("PUT", "/api/clock", { speed: Number(document.getElementById("speed").value) }));
};
document.getElementById("hint").onclick = () => { hintsShown += 1; showScenario(); };
window.addEventListener("hashchange", route);
load().then(listen);
