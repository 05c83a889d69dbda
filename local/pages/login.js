// Demonstration portal login (local stack only).
import { FormErrors, callApi, inputField, setBusy } from "/assets/js/api.js";

const form = document.getElementById("formulaire-connexion");
const button = document.getElementById("se-connecter");
const errors = new FormErrors(form, document.getElementById("error-summary"), inputField);

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  setBusy(button, true);
  const result = await callApi("POST", "/local/login", {
    elector_id: form.elements.elector_id.value,
    password: form.elements.password.value,
  });
  setBusy(button, false);
  if (result.ok) {
    window.location.assign("/local/vote");
    return;
  }
  errors.show(result.error, "Connexion impossible");
});

function cell(text, mono) {
  const td = document.createElement("td");
  td.textContent = text || "—";
  if (mono) td.className = "reassort-mono";
  return td;
}

async function listElectors() {
  const result = await callApi("GET", "/local/demo.json");
  if (!result.ok) return;
  const body = document.getElementById("liste-electeurs");
  for (const elector of result.data.electors) {
    const row = document.createElement("tr");
    const id = document.createElement("td");
    id.textContent = `${elector.elector_id} (${elector.display_name})`;
    const identifiers = [elector.numen && `NUMEN ${elector.numen}`, elector.nir10 && `n°SS ${elector.nir10}`]
      .filter(Boolean)
      .join(" — ");
    row.append(
      id,
      cell(elector.password, true),
      cell(elector.question ? `${elector.question} → ${elector.answer}` : ""),
      cell(identifiers, true),
      cell(elector.vote_code, true),
      cell(elector.fc_identity ? `identité « ${elector.fc_identity} »` : ""),
    );
    body.append(row);
  }
}

listElectors();
