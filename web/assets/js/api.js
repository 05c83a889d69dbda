// Calls to the service's JSON API and the display of its errors (error summary + field messages).

const GENERIC_ERROR = {
  code: "UNEXPECTED",
  message: "Une erreur est survenue. Veuillez réessayer dans quelques instants.",
};

// Answers that do not come from the service itself (no machine code): API Gateway's throttle
// ("Too Many Requests", in English) and the firewall's blocks. The elector reads French.
const RATE_LIMITED = {
  code: "RATE_LIMITED",
  message:
    "Le service reçoit actuellement beaucoup de demandes. Patientez quelques minutes puis réessayez.",
};
const REQUEST_BLOCKED = {
  code: "REQUEST_BLOCKED",
  message:
    "Votre demande a été bloquée par notre protection contre les abus. Si vous pensez qu'il s'agit " +
    "d'une erreur, réessayez plus tard ou contactez l'assistance du portail Élections.",
};

function serviceError(status, data) {
  if (data && typeof data.code === "string" && typeof data.message === "string") return data;
  if (status === 429) return RATE_LIMITED;
  if (status === 403) return REQUEST_BLOCKED;
  return GENERIC_ERROR;
}

export async function callApi(method, url, body) {
  const options = { method, credentials: "same-origin", cache: "no-store", headers: {} };
  if (body !== undefined) {
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(url, options);
  } catch {
    return {
      ok: false,
      status: 0,
      error: { code: "NETWORK", message: "Le service ne répond pas. Vérifiez votre connexion puis réessayez." },
    };
  }
  let data = null;
  try {
    data = await response.json();
  } catch {
    data = null;
  }
  if (response.ok) {
    return { ok: true, status: response.status, data };
  }
  return { ok: false, status: response.status, error: serviceError(response.status, data) };
}

// Fields of a form: API field name -> { control, group, focusTarget } (control may be a fieldset).
export class FormErrors {
  constructor(form, summary, resolveField) {
    this.form = form;
    this.summary = summary;
    this.resolveField = resolveField;
    this.title = summary.querySelector("[data-summary-title]");
    this.message = summary.querySelector("[data-summary-message]");
    this.list = summary.querySelector("[data-summary-list]");
    this.extra = summary.querySelector("[data-summary-extra]");
  }

  clear() {
    this.summary.hidden = true;
    this.message.textContent = "";
    this.list.replaceChildren();
    if (this.extra) this.extra.textContent = "";
    for (const node of this.form.querySelectorAll("[data-error-for]")) node.remove();
    for (const node of this.form.querySelectorAll("[aria-invalid]")) {
      node.removeAttribute("aria-invalid");
      const describedBy = (node.getAttribute("aria-describedby") || "")
        .split(" ")
        .filter((id) => id && !id.endsWith("-error"));
      if (describedBy.length) node.setAttribute("aria-describedby", describedBy.join(" "));
      else node.removeAttribute("aria-describedby");
    }
    for (const node of this.form.querySelectorAll(".fr-input-group--error, .fr-fieldset--error")) {
      node.classList.remove("fr-input-group--error", "fr-fieldset--error");
    }
  }

  show(error, title) {
    this.clear();
    this.title.textContent = title || "Votre demande n'a pas abouti";
    const fields = error.fields || [];
    // A single-field error already reads in the list below: do not say it twice.
    this.message.textContent = fields.some((f) => f.message === error.message) ? "" : error.message;
    if (this.extra && Number.isInteger(error.remaining_attempts) && !/tentative/.test(error.message)) {
      this.extra.textContent = `Tentatives restantes avant blocage temporaire : ${error.remaining_attempts}.`;
    }
    const marked = new Set();
    for (const field of fields) {
      const target = this.resolveField(field.name);
      // Without a channel the destination has no field of its own: the channel error says it all.
      if (!target || marked.has(target.control.id)) continue;
      marked.add(target.control.id);
      this.markField(target, field.message);
      const item = document.createElement("li");
      const link = document.createElement("a");
      link.href = `#${target.focusTarget.id}`;
      link.textContent = field.message;
      link.addEventListener("click", (event) => {
        event.preventDefault();
        target.focusTarget.focus();
      });
      item.append(link);
      this.list.append(item);
    }
    this.summary.hidden = false;
    this.summary.focus();
  }

  markField(target, text) {
    const { control, group } = target;
    const errorId = `${control.id}-error`;
    const message = document.createElement("p");
    message.id = errorId;
    message.dataset.errorFor = control.id;
    message.textContent = text;
    if (control.tagName === "FIELDSET") {
      group.classList.add("fr-fieldset--error");
      message.className = "fr-message fr-message--error";
      const messages = control.querySelector(".fr-messages-group");
      messages.append(message);
      for (const input of control.querySelectorAll("input")) {
        input.setAttribute("aria-invalid", "true");
        addDescribedBy(input, errorId);
      }
    } else {
      group.classList.add("fr-input-group--error");
      control.setAttribute("aria-invalid", "true");
      message.className = "fr-error-text";
      control.insertAdjacentElement("afterend", message);
      addDescribedBy(control, errorId);
    }
  }
}

function addDescribedBy(node, id) {
  const ids = (node.getAttribute("aria-describedby") || "").split(" ").filter(Boolean);
  if (!ids.includes(id)) ids.push(id);
  node.setAttribute("aria-describedby", ids.join(" "));
}

export function inputField(id) {
  const control = document.getElementById(id);
  if (!control) return null;
  return { control, group: control.closest(".fr-input-group") || control.parentElement, focusTarget: control };
}

export function setBusy(button, busy) {
  button.disabled = busy;
  button.setAttribute("aria-busy", busy ? "true" : "false");
}
