// "Saisie du code de vote" of the demonstration portal: checks a code against the roll's hash.
import { FormErrors, callApi, inputField, setBusy } from "/assets/js/api.js";

const form = document.getElementById("formulaire-vote");
const button = document.getElementById("connexion");
const accepted = document.getElementById("code-accepte");
const errors = new FormErrors(form, document.getElementById("error-summary"), inputField);

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  accepted.hidden = true;
  setBusy(button, true);
  const result = await callApi("POST", "/local/vote", { code: form.elements.code.value });
  setBusy(button, false);
  if (result.ok) {
    errors.clear();
    accepted.hidden = false;
    accepted.focus();
    return;
  }
  errors.show(result.error, "Code de vote refusé");
});

document.getElementById("retour").addEventListener("click", async () => {
  await callApi("POST", "/local/logout", {});
  window.location.assign("/local/login");
});
