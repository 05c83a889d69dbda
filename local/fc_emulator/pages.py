"""HTML of the emulator's pages (Jinja templates, auto-escaped by Flask)."""

from __future__ import annotations

_LAYOUT_START = """<!doctype html>
<html lang="fr">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ title }} — FranceConnect (émulateur local)</title>
<style>
body { font-family: Marianne, Arial, sans-serif; margin: 0; color: #161616; background: #f6f6f6; }
header { background: #fff; border-bottom: 1px solid #ddd; padding: 1rem 2rem; }
header strong { color: #000091; }
main { max-width: 40rem; margin: 2rem auto; background: #fff; padding: 2rem; }
.notice { background: #e8edff; padding: .75rem 1rem; margin-bottom: 1.5rem; }
button { font: inherit; cursor: pointer; padding: .75rem 1.5rem; border: 1px solid #000091; }
button.primary { background: #000091; color: #fff; }
button.secondary { background: #fff; color: #000091; }
ul.choices { list-style: none; padding: 0; }
ul.choices li { margin: .5rem 0; }
ul.choices button { width: 100%; text-align: left; }
.error { color: #ce0500; }
</style>
</head>
<body>
<header><strong>FranceConnect</strong> — émulateur local, ne pas utiliser en production</header>
<main>
"""

_LAYOUT_END = """
</main>
</body>
</html>
"""

CHOOSE_PROVIDER = (
    _LAYOUT_START
    + """
<h1>Je choisis un compte pour me connecter</h1>
<p class="notice">Service demandeur : <strong>{{ client_id }}</strong></p>
<ul class="choices">
  <li>
    <form method="get" action="{{ identities_url }}">
      <button class="primary" type="submit" id="idp-demo">Identités de test (fournisseur d'identité de démonstration)</button>
    </form>
  </li>
</ul>
<form method="post" action="{{ cancel_url }}">
  <button class="secondary" type="submit" id="fc-cancel">Annuler et revenir au service</button>
</form>
"""
    + _LAYOUT_END
)

CHOOSE_IDENTITY = (
    _LAYOUT_START
    + """
<h1>Fournisseur d'identité de démonstration</h1>
<p>Choisissez l'identité avec laquelle vous connecter.</p>
<form method="post" action="{{ login_url }}">
  <ul class="choices">
  {% for identity in identities %}
    <li><button class="secondary" type="submit" name="identity" value="{{ identity.key }}"
         id="identity-{{ identity.key }}">{{ identity.label }}</button></li>
  {% endfor %}
  </ul>
</form>
<form method="post" action="{{ cancel_url }}">
  <button class="secondary" type="submit" id="fc-cancel">Annuler et revenir au service</button>
</form>
"""
    + _LAYOUT_END
)

ERROR = (
    _LAYOUT_START
    + """
<h1 class="error">Une erreur est survenue</h1>
<p>La demande de connexion a été refusée par FranceConnect.</p>
<p>Code : <code id="fc-error-code">{{ code }}</code></p>
<p>{{ description }}</p>
"""
    + _LAYOUT_END
)
