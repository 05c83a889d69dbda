// Challenge form: shows the elector's own question, sends answer + identifier + channel.
import { FormErrors, callApi, inputField, setBusy } from "/assets/js/api.js";

const CONFIRMATION_KEY = "reassort.confirmation";

const loadError = document.getElementById("erreur-chargement");
const content = document.getElementById("contenu-formulaire");
const form = document.getElementById("formulaire-defi");
const submit = document.getElementById("envoyer");
const channelFieldset = document.getElementById("channel");
const groups = {
  sms: { group: document.getElementById("groupe-sms"), input: document.getElementById("destination-sms") },
  email: { group: document.getElementById("groupe-email"), input: document.getElementById("destination-email") },
};

function selectedChannel() {
  const checked = form.querySelector('input[name="channel"]:checked');
  return checked ? checked.value : null;
}

function showChannelField() {
  const channel = selectedChannel();
  for (const [name, { group, input }] of Object.entries(groups)) {
    const visible = name === channel;
    group.hidden = !visible;
    input.disabled = !visible;
  }
}

function resolveField(name) {
  if (name === "channel") {
    return { control: channelFieldset, group: channelFieldset, focusTarget: document.getElementById("channel-sms") };
  }
  if (name === "destination") {
    const channel = selectedChannel();
    if (!channel) return resolveField("channel");
    return inputField(groups[channel].input.id);
  }
  return inputField(name);
}

// An empty field is named in its message: the summary lists several of them.
const REQUIRED_MESSAGES = {
  answer: "Saisissez votre réponse secrète.",
  identifier: "Saisissez votre NUMEN ou les 10 premiers chiffres de votre n°SS.",
  channel: "Choisissez l'envoi par SMS ou par E-MAIL.",
  destination: {
    sms: "Saisissez votre numéro de téléphone portable.",
    email: "Saisissez votre adresse mail personnelle.",
  },
};
const EMPTY_CODES = new Set(["MISSING", "STRING_TOO_SHORT", "REQUIRED"]);

function namedRequired(error) {
  if (!error.fields) return error;
  const channel = selectedChannel();
  const fields = error.fields.map((field) => {
    let message = EMPTY_CODES.has(field.code) ? REQUIRED_MESSAGES[field.name] : null;
    if (message && typeof message === "object") message = channel ? message[channel] : null;
    return message ? { ...field, message } : field;
  });
  return { ...error, fields };
}

const errors = new FormErrors(form, document.getElementById("error-summary"), resolveField);

async function load() {
  const result = await callApi("GET", "/api/reassort/challenge");
  const question = document.getElementById("question");
  question.removeAttribute("aria-busy");
  if (!result.ok) {
    content.hidden = true;
    loadError.querySelector("[data-load-message]").textContent = result.error.message;
    loadError.hidden = false;
    loadError.focus();
    return;
  }
  question.textContent = result.data.question;
  const channels = result.data.channels || ["sms", "email"];
  for (const name of Object.keys(groups)) {
    if (!channels.includes(name)) {
      document.getElementById(`channel-${name}`).closest(".fr-fieldset__element").hidden = true;
    }
  }
}

async function send(event) {
  event.preventDefault();
  const channel = selectedChannel();
  const body = {
    answer: form.elements.answer.value,
    identifier: form.elements.identifier.value,
    channel: channel || "",
    destination: channel ? groups[channel].input.value : "",
  };
  setBusy(submit, true);
  const result = await callApi("POST", "/api/reassort/challenge", body);
  setBusy(submit, false);
  if (result.ok) {
    sessionStorage.setItem(CONFIRMATION_KEY, JSON.stringify(result.data));
    window.location.assign("/reassort/demande-envoyee");
    return;
  }
  errors.show(namedRequired(result.error));
}

for (const radio of form.querySelectorAll('input[name="channel"]')) {
  radio.addEventListener("change", showChannelField);
}
form.addEventListener("submit", send);
showChannelField();
load();
