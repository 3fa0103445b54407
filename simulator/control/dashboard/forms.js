// Forms drawn from the control API's own schema (GET /api/openapi.json), so a fault or an
// event kind the API gains shows up here without a change to the dashboard.
"use strict";

// A property's schema without its "or null" (pydantic writes optional fields as anyOf).
function plain(property) {
  const options = (property.anyOf || [property]).filter((s) => s.type !== "null");
  return options[0] || property;
}

function resolve(openapi, schema) {
  if (!schema || !schema.$ref) return schema;
  return openapi.components.schemas[schema.$ref.split("/").pop()];
}

// One input per property: a checkbox, a number (with its bounds), a list (enum) or text.
// Labels come from the catalog under `prefix + name` when it has one, else the schema's title.
function drawFields(container, schema, prefix) {
  container.replaceChildren();
  for (const [name, property] of Object.entries(schema.properties || {})) {
    const s = plain(property);
    const label = document.createElement("label");
    label.dataset.field = name;
    const caption = document.createElement("span");
    caption.className = "caption";
    let input;
    const required = (schema.required || []).includes(name);
    if (s.enum) {
      input = document.createElement("select");
      if (!required) input.append(new Option("", "")); // left out: the API's default
      for (const v of s.enum) input.append(new Option(v, v));
    } else {
      input = document.createElement("input");
      input.type = s.type === "boolean" ? "checkbox" : ["number", "integer"].includes(s.type) ? "number" : "text";
      if (s.minimum !== undefined) input.min = s.minimum;
      if (s.maximum !== undefined) input.max = s.maximum;
      input.step = s.type === "integer" ? "1" : "any";
    }
    input.name = name;
    const initial = property.default ?? s.default;
    if (initial !== undefined && initial !== null && input.type !== "checkbox") input.value = initial;
    input.dataset.type = s.type || "string";
    if (required && input.type !== "checkbox") input.required = true;
    if (property.description || s.description) label.title = property.description || s.description;
    const caption_ = () => { caption.textContent = t(prefix + name) !== prefix + name ? t(prefix + name) : (property.title || name); };
    caption_();
    onLanguage(caption_);
    if (input.type === "checkbox") label.append(input, " ", caption); else label.append(caption, " ", input);
    container.append(label);
  }
}

// The body a drawn form sends: checkboxes as booleans, numbers as numbers, an empty field
// left out (the API keeps or defaults it).
function formBody(container) {
  const body = {};
  for (const input of container.querySelectorAll("input, select")) {
    const type = input.dataset.type;
    if (input.type === "checkbox") body[input.name] = input.checked;
    else if (input.value === "") continue;
    else body[input.name] = type === "number" || type === "integer" ? Number(input.value) : input.value;
  }
  return body;
}

function fillFields(container, values) {
  if (container.contains(document.activeElement)) return; // the user is typing
  for (const [k, v] of Object.entries(values)) {
    const input = container.querySelector(`[name="${CSS.escape(k)}"]`);
    if (!input) continue;
    if (input.type === "checkbox") input.checked = v; else input.value = v;
  }
}
