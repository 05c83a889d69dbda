// Link page: the token comes from the URL fragment (never sent to a server in a URL); GET only
// shows the page, the button's POST consumes the link. The code is shown for display_seconds,
// then erased.
import { callApi } from "/assets/js/api.js";

const sections = {
  verification: document.getElementById("verification"),
  preparation: document.getElementById("preparation"),
  resultat: document.getElementById("resultat"),
  termine: document.getElementById("termine"),
  invalide: document.getElementById("invalide"),
};
const button = document.getElementById("regenerer");
const codeNode = document.getElementById("code");
const countdown = document.getElementById("compte-a-rebours");
const announce = document.getElementById("annonce-temps");
const copyButton = document.getElementById("copier");
const copyStatus = document.getElementById("copie-statut");

// Spoken announcements at these remaining times only: a live region updated every second
// would talk over everything else.
const MILESTONES = [90, 60, 30, 10];

let token = new URLSearchParams(window.location.hash.slice(1)).get("t");
let voteCode = null;
let timer = null;

// Drop the token from the address bar and the history entry.
if (window.location.hash) {
  window.history.replaceState(null, "", window.location.pathname);
}

function show(name, focusId) {
  for (const [key, node] of Object.entries(sections)) node.hidden = key !== name;
  if (focusId) document.getElementById(focusId).focus();
}

function showInvalid(message, title) {
  token = null;
  if (title) document.getElementById("titre-invalide").textContent = title;
  if (message) document.getElementById("message-invalide").textContent = message;
  show("invalide", "titre-invalide");
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

function erase() {
  voteCode = null;
  codeNode.replaceChildren();
  copyStatus.textContent = "";
  countdown.textContent = "";
  announce.textContent = "";
  if (timer) window.clearInterval(timer);
  timer = null;
}

function end() {
  erase();
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

function showCode(code, displaySeconds) {
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
  show("resultat", "titre-code");
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
    copyStatus.textContent = "Copie automatique impossible : le code est sélectionné, copiez-le avec Ctrl+C.";
  }
}

async function regenerate() {
  if (!token) return;
  button.disabled = true;
  button.setAttribute("aria-busy", "true");
  const result = await callApi("POST", "/api/links/redeem", { token });
  token = null;
  if (!result.ok) {
    showInvalid(result.error.message);
    return;
  }
  showCode(result.data.vote_code, result.data.display_seconds);
}

async function check() {
  if (!token) {
    // Reloading the page also lands here: the token left the address bar when it was first read.
    showInvalid(
      "L'adresse ouverte ne contient pas de lien de réassort complet. Ouvrez à nouveau le lien reçu " +
        "par e-mail ou par SMS, sans le modifier : il reste valable tant qu'il n'a pas servi.",
      "Lien incomplet",
    );
    return;
  }
  const result = await callApi("POST", "/api/links/check", { token });
  if (!result.ok) {
    showInvalid(result.error.message);
    return;
  }
  if (Number.isInteger(result.data.display_seconds)) {
    document.getElementById("secondes").textContent = String(result.data.display_seconds);
  }
  show("preparation");
}

button.addEventListener("click", regenerate);
copyButton.addEventListener("click", copy);
window.addEventListener("pagehide", erase);
check();
