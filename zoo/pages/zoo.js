/* zoo serve: what every task page shares. Zoo.info() fills the header from /info; Zoo.predict()
   posts a JSON object or a FormData (multipart) to /predict; Zoo.run() wires a button: busy while
   it waits, the server's {"error": ...} line shown in #error. URLs are relative, so a page served
   under a path prefix still finds its server. */
"use strict";

const Zoo = (() => {
  const MAX_METRICS = 8;
  const PALETTE = ["#ff9f1c", "#2ec4b6", "#ff006e", "#8ac926", "#ffbe0b", "#3a86ff", "#c77dff", "#e71d36"];
  let infoPromise = null;

  /** The element with this id (a page's own markup). */
  const $ = (id) => document.getElementById(id);

  /** A new element with text and attributes. */
  function el(tag, text, attributes) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    for (const [key, value] of Object.entries(attributes || {})) node.setAttribute(key, value);
    return node;
  }

  /** A number for a person: 3 decimals below 10, whole above 1000, else 4 significant digits;
      below 0.001, in scientific notation. */
  function format(value) {
    if (typeof value !== "number" || !Number.isFinite(value)) return String(value);
    if (Number.isInteger(value)) return String(value);
    const size = Math.abs(value);
    if (size >= 1000) return value.toFixed(0);
    if (size < 0.001) return value.toExponential(1);
    return size < 10 ? value.toFixed(3) : value.toPrecision(4);
  }

  /** Metrics as one level of "split/name": value (nested objects are joined with "/"). */
  function flatten(metrics, prefix = "") {
    const flat = [];
    for (const [key, value] of Object.entries(metrics || {})) {
      const name = prefix ? `${prefix}/${key}` : key;
      if (value && typeof value === "object") flat.push(...flatten(value, name));
      else flat.push([name, value]);
    }
    return flat;
  }

  function showError(message) {
    const box = $("error");
    box.textContent = message;
    box.hidden = false;
  }

  function clearError() {
    const box = $("error");
    box.textContent = "";
    box.hidden = true;
  }

  /** The answer's JSON, or an Error carrying the server's one-line {"error": ...}. */
  async function answer(response) {
    const text = await response.text();
    let body = null;
    try {
      body = JSON.parse(text);
    } catch {
      body = null;
    }
    if (response.ok && body !== null) return body;
    const said = body && typeof body.error === "string" ? body.error : `${response.status} ${response.statusText}`.trim();
    throw new Error(response.status === 413 && !(body && body.error) ? "the request is too large for the server (413): send a smaller file" : said);
  }

  async function call(path, init) {
    let response;
    try {
      response = await fetch(path, init);
    } catch (error) {
      throw new Error(`the server did not answer (${error.message}): is zoo serve still running?`);
    }
    return answer(response);
  }

  /** The header (task, model, metrics, links) from /info; the info itself, fetched once. */
  function info() {
    if (!infoPromise) {
      infoPromise = call("info").then((facts) => {
        fillHeader(facts);
        offerOptions(facts.options || {});
        return facts;
      });
      infoPromise.catch((error) => showError(error.message));
    }
    return infoPromise;
  }

  function fillHeader(facts) {
    const header = $("header");
    header.replaceChildren(
      el("h1", facts.task, { id: "task" }),
      el("span", facts.name || facts.model, { id: "model", class: "model" }),
      el("span", null, { class: "links" }),
    );
    const links = header.querySelector(".links");
    links.append(el("a", "API docs", { href: "docs" }), " · ", el("a", "info", { href: "info" }));
    // The headline metrics: not those of one class (val/precision/cat), at most MAX_METRICS.
    const metrics = flatten(facts.metrics).filter(([name]) => name.split("/").length <= 2).slice(0, MAX_METRICS);
    if (metrics.length) {
      const list = el("ul", null, { id: "metrics", class: "metrics", "aria-label": "metrics of the run" });
      for (const [name, value] of metrics) {
        const item = el("li", `${name} `);
        item.append(el("b", format(value)));
        list.append(item);
      }
      header.append(list);
    }
    document.title = `${facts.name || facts.task} · zoo serve`;
  }

  /** Fields marked data-option="NAME" show the server's help for NAME, and hide when this model
      takes no such option. */
  function offerOptions(options) {
    for (const field of document.querySelectorAll("[data-option]")) {
      const help = options[field.dataset.option];
      if (help === undefined) {
        field.hidden = true;
        continue;
      }
      const hint = field.querySelector(".hint");
      if (hint && !hint.textContent) hint.textContent = help;
    }
  }

  /** The values of the shown data-option fields, by option name (a blank one is left out). */
  function options() {
    const values = {};
    for (const field of document.querySelectorAll("[data-option]")) {
      const control = field.querySelector("input, select");
      if (field.hidden || !control || control.value === "") continue;
      values[field.dataset.option] = control.type === "number" || control.type === "range" ? Number(control.value) : control.value;
    }
    return values;
  }

  /** POST /predict: a FormData goes as multipart, anything else as JSON. The records. */
  async function predict(body) {
    const init = body instanceof FormData
      ? { method: "POST", body }
      : { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) };
    return (await call("predict", init)).predictions;
  }

  /** A multipart body: each file as an "inputs" part, each option as a part of its own. */
  function upload(files, values) {
    const form = new FormData();
    for (const file of files) form.append("inputs", file, file.name);
    for (const [key, value] of Object.entries(values || {})) form.append(key, typeof value === "string" ? value : JSON.stringify(value));
    return form;
  }

  /** Run `work` for `button`: the button disabled and <body aria-busy="true"> meanwhile, the
      error line cleared first and filled with what went wrong. */
  async function run(button, work) {
    clearError();
    button.disabled = true;
    document.body.setAttribute("aria-busy", "true");
    try {
      await work();
    } catch (error) {
      showError(error.message);
    } finally {
      button.disabled = false;
      document.body.setAttribute("aria-busy", "false");
    }
  }

  /** Submitting `form` (its button, Enter in a one-line field, Ctrl+Enter in a textarea) runs `work`. */
  function onSubmit(form, work) {
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      run(form.querySelector("button[type=submit]"), work);
    });
    form.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey) && event.target.tagName === "TEXTAREA") {
        event.preventDefault();
        form.requestSubmit();
      }
    });
  }

  /** Fill list `list` with one bar per [name, value in 0..1]; the first is marked best. */
  function bars(list, entries) {
    list.replaceChildren();
    entries.forEach(([name, value], index) => {
      const item = el("li", null, index === 0 ? { class: "best" } : {});
      const bar = el("span", null, { class: "bar", role: "meter", "aria-valuemin": "0", "aria-valuemax": "1", "aria-valuenow": String(value), "aria-label": name });
      const fill = el("span");
      fill.style.width = `${Math.max(0, Math.min(1, value)) * 100}%`;
      bar.append(fill);
      item.append(el("span", name, { class: "name", title: name }), bar, el("span", format(value), { class: "value" }));
      list.append(item);
    });
  }

  /** A color of its own for each class index: bright ones that stand out on photos first. */
  function color(index) {
    return PALETTE[index] || `hsl(${(index * 137.5) % 360}, 85%, 55%)`;
  }

  return { $, el, format, info, options, predict, upload, run, onSubmit, bars, color, showError };
})();
