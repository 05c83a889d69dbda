// Choice page: offer each way only where it can work. FranceConnect needs the civil identity on
// the roll; the question Défi needs a question. Without an answer from the service both stay.
import { callApi } from "/assets/js/api.js";

const defi = document.getElementById("option-defi");
const franceconnect = document.getElementById("option-franceconnect");
const or = document.getElementById("choix-ou");

function only(kept, note) {
  for (const node of [defi, franceconnect, or]) node.hidden = node !== kept;
  document.getElementById("choix-intro").hidden = true;
  document.getElementById(note).hidden = false;
}

async function decide() {
  const result = await callApi("GET", "/api/reassort/challenge");
  if (result.ok) {
    if (result.data.franceconnect === false) only(defi, "sans-franceconnect");
    return;
  }
  if (result.error.code === "CHALLENGE_NOT_SET") {
    only(franceconnect, "sans-defi");
  } else if (result.status === 401 || result.status === 403) {
    // No portal session, or no roll entry: neither way can work from here.
    for (const node of [defi, franceconnect, or, document.getElementById("choix-intro")]) node.hidden = true;
    const box = document.getElementById("choix-erreur");
    box.querySelector("[data-choix-message]").textContent = result.error.message;
    box.hidden = false;
    box.focus();
  }
}

decide();
