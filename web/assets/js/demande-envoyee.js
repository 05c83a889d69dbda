// Confirmation page: the masked destination returned by the request (kept in this tab only).
const CONFIRMATION_KEY = "reassort.confirmation";

let details = null;
try {
  details = JSON.parse(sessionStorage.getItem(CONFIRMATION_KEY) || "null");
} catch {
  details = null;
}

if (details && typeof details.masked_destination === "string") {
  document.getElementById("canal").textContent = details.channel === "sms" ? "par SMS au" : "par E-MAIL à";
  document.getElementById("destination-masquee").textContent = details.masked_destination;
  document.getElementById("destination-connue").hidden = false;
  document.getElementById("destination-inconnue").hidden = true;
  if (Number.isInteger(details.link_valid_minutes)) {
    document.getElementById("duree").textContent = `, pendant ${details.link_valid_minutes} minutes`;
  }
}
