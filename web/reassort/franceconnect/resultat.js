// Result pages of the FranceConnect path: show the masked destination (URL fragment) or the
// reason of a refusal (query parameter "motif"). Only predefined texts are shown.

const NO_RETRY = new Set(["sans-identite", "adresse-absente"]);

function showMaskedDestination() {
  const target = document.getElementById("fc-destination");
  const sentence = document.getElementById("fc-destination-sentence");
  if (!target || !sentence) return;
  const fragment = new URLSearchParams(window.location.hash.replace(/^#/, ""));
  const masked = fragment.get("d");
  if (masked && masked.length <= 120) {
    target.textContent = masked; // text only, never HTML
    sentence.hidden = false;
  }
  // The fragment has served: keep it out of the history and of any bookmark.
  if (window.location.hash) {
    history.replaceState(null, "", window.location.pathname + window.location.search);
  }
}

function showRefusalReason() {
  const reasons = document.querySelectorAll("[data-motif]");
  if (reasons.length === 0) return;
  const motif = new URLSearchParams(window.location.search).get("motif");
  const chosen = Array.from(reasons).find((node) => node.dataset.motif === motif);
  if (!chosen) return;
  for (const node of reasons) node.hidden = node !== chosen;
  // Another FranceConnect login cannot change these: only the question Défi is offered.
  const retry = document.getElementById("reessayer-franceconnect");
  if (retry && NO_RETRY.has(motif)) retry.hidden = true;
}

showMaskedDestination();
showRefusalReason();
