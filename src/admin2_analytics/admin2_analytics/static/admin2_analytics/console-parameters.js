// The typed parameter form: one field per {name:Type} placeholder of the SQL as it is typed.
// The server reads the placeholders and checks each value with the run's own coercion, so a
// bad value gets the run's message, naming the parameter, before the run. The fields write
// the name=value lines of the real form field, which is what runs (and what is edited
// without JavaScript).
(function () {
  "use strict";

  const WAIT_MS = 250; // after the last keystroke: one question per pause, not per key

  function parseLines(text) {
    const values = new Map();
    for (const line of text.split("\n")) {
      const at = line.indexOf("=");
      if (at > 0) values.set(line.slice(0, at).trim(), line.slice(at + 1).trim());
    }
    return values;
  }

  function element(tag, attributes, text) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes || {})) node.setAttribute(name, value);
    if (text) node.textContent = text;
    return node;
  }

  function input(parameter, value) {
    const id = `param-${parameter.name}`;
    let field;
    if (parameter.kind === "boolean") {
      field = element("select", { id });
      for (const option of ["", "true", "false"]) {
        field.append(element("option", { value: option }, option || (parameter.nullable ? "NULL" : "—")));
      }
    } else {
      field = element("input", { id, type: "text", autocomplete: "off", spellcheck: "false" });
      if (parameter.hint) field.placeholder = parameter.hint;
      if (parameter.kind === "integer" || parameter.kind === "number") field.inputMode = "decimal";
    }
    field.value = value || "";
    field.dataset.parameter = parameter.name;
    field.setAttribute("aria-describedby", `${id}-error`);
    return field;
  }

  function start() {
    const form = document.getElementById("console-form");
    const sql = document.getElementById("id_sql");
    const lines = document.getElementById("id_params");
    if (!form || !sql || !lines || !form.dataset.parametersUrl) return;
    const csrf = form.querySelector("input[name=csrfmiddlewaretoken]").value;
    const row = lines.closest(".form-row");
    const panel = element("div", { id: "parameter-form", class: "analytics-parameter-form" });
    const problem = element("p", { id: "parameter-form-error", class: "errornote", role: "alert" });
    problem.hidden = true;
    row.append(problem, panel);
    // The text field stays in the form (it is what is posted) but the fields edit it.
    row.querySelectorAll(".flex-container, .help").forEach((node) => { node.hidden = true; });

    const remembered = parseLines(lines.value); // kept when a placeholder goes and comes back
    let drawn = [];
    let shape = "";
    let timer = null;
    let asked = 0;

    const writeLines = () => {
      lines.value = drawn
        .filter((parameter) => remembered.has(parameter.name))
        .map((parameter) => `${parameter.name}=${remembered.get(parameter.name)}`)
        .join("\n");
    };

    const build = (parameters) => {
      panel.replaceChildren();
      for (const parameter of parameters) {
        const box = element("div", { class: "analytics-parameter" });
        box.dataset.parameter = parameter.name;
        const label = element("label", { for: `param-${parameter.name}` }, parameter.name + " ");
        label.append(element("code", {}, parameter.type));
        const error = element("span", { id: `param-${parameter.name}-error`, class: "analytics-parameter-error" });
        box.append(label, input(parameter, remembered.get(parameter.name)), error);
        panel.append(box);
      }
      panel.hidden = parameters.length === 0;
    };

    const show = (answer) => {
      const parameters = answer.parameters || [];
      const next = JSON.stringify(parameters.map((p) => [p.name, p.type]));
      drawn = parameters;
      if (next !== shape) {
        shape = next;
        build(parameters);
        writeLines();
      }
      for (const parameter of parameters) {
        const box = panel.querySelector(`[data-parameter="${CSS.escape(parameter.name)}"]`);
        const error = box.querySelector(".analytics-parameter-error");
        const text = remembered.has(parameter.name) ? parameter.error : "";
        error.textContent = text;
        box.classList.toggle("errors", Boolean(text));
        box.querySelector("[data-parameter]").setAttribute("aria-invalid", text ? "true" : "false");
      }
      problem.textContent = answer.error || "";
      problem.hidden = !answer.error;
      // Nothing to ask and nothing wrong: the row takes no room.
      row.hidden = parameters.length === 0 && !answer.error && !row.querySelector(".errorlist");
      document.body.dataset.parametersChecked = String(asked);
    };

    const ask = async () => {
      const ticket = ++asked;
      const body = new FormData();
      body.append("sql", sql.value);
      body.append("params", lines.value);
      body.append("csrfmiddlewaretoken", csrf);
      try {
        const response = await fetch(form.dataset.parametersUrl, {
          method: "POST", body, credentials: "same-origin",
        });
        const answer = await response.json();
        if (ticket === asked) show(answer); // an older answer never overwrites a newer one
      } catch (error) {
        console.warn("admin2: the parameter form could not be checked", error);
      }
    };

    const later = () => {
      clearTimeout(timer);
      timer = setTimeout(ask, WAIT_MS);
    };

    sql.addEventListener("input", later);
    panel.addEventListener("input", (event) => {
      const name = event.target.dataset.parameter;
      if (!name) return;
      remembered.set(name, event.target.value);
      writeLines();
      later();
    });
    ask();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
