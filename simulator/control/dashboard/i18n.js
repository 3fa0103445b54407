// The dashboard's languages: i18n.json holds every label in each; the page's own labels
// carry data-i18n (text), data-i18n-placeholder or data-i18n-title, and scripts call t().
"use strict";

const i18n = { lang: "en", catalogs: {}, listeners: [] };

function t(key, fields = {}) {
  const text = (i18n.catalogs[i18n.lang] || {})[key] ?? i18n.catalogs.en?.[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => String(fields[name] ?? ""));
}

// The language asked for (?lang=), else the one last chosen here, else the browser's.
function startingLanguage() {
  const asked = new URLSearchParams(location.search).get("lang") || localStorage.getItem("nvrsim.lang")
    || navigator.language.slice(0, 2);
  return asked in i18n.catalogs ? asked : "en";
}

function setLanguage(lang) {
  i18n.lang = lang;
  localStorage.setItem("nvrsim.lang", lang);
  document.documentElement.lang = lang;
  document.getElementById("language").value = lang;
  for (const el of document.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of document.querySelectorAll("[data-i18n-placeholder]")) el.placeholder = t(el.dataset.i18nPlaceholder);
  for (const el of document.querySelectorAll("[data-i18n-title]")) el.title = t(el.dataset.i18nTitle);
  for (const listener of i18n.listeners) listener(lang);
}

// Whatever a script drew with t() is drawn again when the language changes.
function onLanguage(listener) { i18n.listeners.push(listener); }

async function loadLanguages() {
  i18n.catalogs = await (await fetch("static/i18n.json")).json();
  setLanguage(startingLanguage());
  document.getElementById("language").addEventListener("change", (ev) => setLanguage(ev.target.value));
}
