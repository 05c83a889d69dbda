// Link page: the token comes from the URL fragment (never sent to a server in a URL). Checking shows
// the page; the button's POST replaces the vote code. Within the display window the same link —
// reloaded, navigated back to, retried after a lost answer or opened again — shows the same code
// with the time left; afterwards the page says the new code is in force.
import { callApi } from "/assets/js/api.js";

const sections = {
  verification: document.getElementById("verification"),
  preparation: document.getElementById("preparation"),
  resultat: document.getElementById("resultat"),
  perdu: document.getElementById("perdu"),
  termine: document.getElementById("termine"),
  invalide: document.getElementById("invalide"),
};
const button = document.getElementById("regenerer");
const retryButton = document.getElementById("reessayer");
const codeNode = document.getElementById("code");
const countdown = document.getElementById("compte-a-rebours");
const announce = document.getElementById("annonce-temps");
const copyButton = document.getElementById("copier");
const copyStatus = document.getElementById("copie-statut");

// Spoken announcements at these remaining times only: a live region updated every second
// would talk over everything else.
const MILESTONES = [90, 60, 30, 10];
// The token stays in this tab only (not in the address bar or the history), so that a reload,
// back/forward or a retry can ask for the code again while it may still be shown.
const STORAGE_KEY = "reassort-lien";

let token = null;
let voteCode = null;
let timer = null;
// What the retry button does: check the link again, or ask for the code again.
let retryAction = null;

function remember(value) {
  token = value;
  try {
    if (value) window.sessionStorage.setItem(STORAGE_KEY, value);
    else window.sessionStorage.removeItem(STORAGE_KEY);
  } catch {
    // Storage refused (private mode with storage off): the page still works for this view.
  }
}

function readToken() {
  const fromFragment = new URLSearchParams(window.location.hash.slice(1)).get("t");
  if (window.location.hash) {
    // Drop the token from the address bar and the history entry.
    window.history.replaceState(null, "", window.location.pathname);
  }
  if (fromFragment) {
    remember(fromFragment);
    return fromFragment;
  }
  try {
    return window.sessionStorage.getItem(STORAGE_KEY);
  } catch {
    return null;
  }
}

function show(name, focusId) {
  for (const [key, node] of Object.entries(sections)) node.hidden = key !== name;
  if (focusId) document.getElementById(focusId).focus();
}

function showInvalid(error, title) {
  remember(null);
  document.getElementById("titre-invalide").textContent = title || "Ce lien n'est plus valable";
  // The title already says the link is no longer valid: only say why.
  document.getElementById("message-invalide").textContent =
    error.code === "LINK_INVALID"
      ? "Il a expiré, a déjà été utilisé ou a été remplacé par un autre lien."
      : error.message;
  show("invalide", "titre-invalide");
}

function showLost(error, action) {
  retryAction = action;
  document.getElementById("message-perdu").textContent = error.message;
  retryButton.disabled = false;
  show("perdu", "titre-perdu");
}

function formatRemaining(seconds) {
  const minutes = Math.floor(seconds / 60);
  const rest = seconds % 60;
  if (minutes === 0) return `${rest} s`;
  return `${minutes} min ${String(rest).padStart(2, "0")} s`;
}

function spoken(seconds) {
  if (seconds >= 60 && seconds % 60 === 0) {
    const minutes = seconds / 60;
    return `${minutes} minute${minutes > 1 ? "s" : ""}`;
  }
  return `${seconds} secondes`;
}

function confirmLeaving(event) {
  event.preventDefault();
  event.returnValue = "";
}

function erase() {
  voteCode = null;
  codeNode.replaceChildren();
  copyStatus.textContent = "";
  countdown.textContent = "";
  announce.textContent = "";
  if (timer) window.clearInterval(timer);
  timer = null;
  window.removeEventListener("beforeunload", confirmLeaving);
}

function end() {
  erase();
  remember(null);
  show("termine", "titre-termine");
}

function startCountdown(displaySeconds) {
  const deadline = Date.now() + displaySeconds * 1000;
  let lastSpoken = displaySeconds;
  announce.textContent = `Votre code restera affiché ${spoken(displaySeconds)}.`;
  const tick = () => {
    const remaining = Math.max(0, Math.ceil((deadline - Date.now()) / 1000));
    countdown.textContent = `Temps d'affichage restant : ${formatRemaining(remaining)}`;
    for (const milestone of MILESTONES) {
      if (remaining <= milestone && lastSpoken > milestone && milestone < displaySeconds) {
        announce.textContent = `Il reste ${spoken(milestone)} d'affichage.`;
        lastSpoken = milestone;
      }
    }
    if (remaining <= 0) end();
  };
  tick();
  timer = window.setInterval(tick, 1000);
}

function showCode(code, displaySeconds, shownBefore) {
  erase();
  voteCode = code;
  const groups = code.match(/.{1,4}/g) || [];
  codeNode.replaceChildren(
    ...groups.map((group) => {
      const span = document.createElement("span");
      span.className = "reassort-code__group";
      span.textContent = group;
      return span;
    }),
  );
  document.getElementById("deja-affiche").hidden = !shownBefore;
  show("resultat", "titre-code");
  // Leaving while the code shows asks for confirmation: it cannot be shown once the time is up.
  window.addEventListener("beforeunload", confirmLeaving);
  startCountdown(displaySeconds);
}

async function copy() {
  if (!voteCode) return;
  try {
    await navigator.clipboard.writeText(voteCode);
    copyStatus.textContent = "Code copié dans le presse-papiers.";
  } catch {
    const range = document.createRange();
    range.selectNodeContents(codeNode);
    const selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
    copyStatus.textContent =
      "Copie automatique impossible : le code est sélectionné, copiez-le avec la commande « Copier » " +
      "de votre appareil (Ctrl+C sur un ordinateur, appui long sur un téléphone).";
  }
}

// An answer that may not have reached the page (no network, service error): the link may have
// been used, so the elector can ask again — the same link shows the same code.
function isLost(result) {
  return result.status === 0 || result.status >= 500;
}

function handleRefusal(result, retry) {
  if (result.error.code === "DISPLAY_OVER") {
    end();
  } else if (isLost(result)) {
    showLost(result.error, retry);
  } else {
    showInvalid(result.error);
  }
}

async function redeem() {
  const current = token;
  if (!current) return;
  const result = await callApi("POST", "/api/links/redeem", { token: current });
  if (current !== token) return; // another link was opened meanwhile
  if (!result.ok) {
    handleRefusal(result, redeem);
    return;
  }
  showCode(result.data.vote_code, result.data.display_seconds, result.data.shown_before);
}

async function regenerate() {
  button.disabled = true;
  button.setAttribute("aria-busy", "true");
  await redeem();
  button.disabled = false;
  button.removeAttribute("aria-busy");
}

async function retry() {
  retryButton.disabled = true;
  show("verification");
  if (retryAction) await retryAction();
}

async function check() {
  const current = token;
  if (!current) {
    showInvalid(
      {
        code: "INCOMPLETE",
        message:
          "L'adresse ouverte ne contient pas de lien de réassort complet. Ouvrez à nouveau le lien " +
          "reçu par e-mail ou par SMS, sans le modifier : il reste valable tant qu'il n'a pas servi.",
      },
      "Lien incomplet",
    );
    return;
  }
  const result = await callApi("POST", "/api/links/check", { token: current });
  if (current !== token) return;
  if (!result.ok) {
    handleRefusal(result, check);
    return;
  }
  if (result.data.redeemed) {
    // Used by this link a moment ago (reload, back/forward, lost answer): show the same code.
    await redeem();
    return;
  }
  if (Number.isInteger(result.data.display_seconds)) {
    document.getElementById("secondes").textContent = String(result.data.display_seconds);
  }
  show("preparation");
}

function start() {
  erase();
  token = readToken();
  show("verification");
  check();
}

button.addEventListener("click", regenerate);
retryButton.addEventListener("click", retry);
copyButton.addEventListener("click", copy);
// A new link pasted into this tab changes only the fragment: read it again.
window.addEventListener("hashchange", () => {
  if (window.location.hash) start();
});
window.addEventListener("pagehide", erase);
// Back/forward may restore this page from memory after pagehide erased the code: ask again.
window.addEventListener("pageshow", (event) => {
  if (event.persisted) start();
});
start();
