"""Western-European text without a charset is decoded in a Central-European code page.

guess_encoding (text.py) takes charset-normalizer's best guess for any non-UTF-8 body of 64+
bytes. For short Latin-1 bodies (a CSV export, a form letter) that guess is cp1250 or
cp1257, so ``response.text`` reads "Hélčne;Lefčvre", "ŕ Genčve", "Portuguęs: açăo".
Latin-1/windows-1252 bodies without a charset are the common legacy case (WHATWG Encoding
uses windows-1252 as the fallback for them).
"""

from __future__ import annotations

import pytest

import wirekit
from tests.client.body_edges._common import reply
from tests.support.scripted import ScriptedServer, expect, send

TEXTS = [
    "Prénom;Nom;Ville\nJérôme;Dupré;Besançon\nHélène;Lefèvre;Orléans\nFrançois;Mérimée;Nîmes\n",
    "Résumé: expérience professionnelle à Genève et à Zürich, développeur confirmé.",
    "Português: ação, coração, informação, não, você está aí? Olá, São Paulo.",
]


@pytest.mark.parametrize("text", TEXTS, ids=["csv-fr", "resume-fr", "pt"])
def test_latin1_body_without_charset_decodes_right(text: str) -> None:
    script = reply(text.encode("latin-1"), b"Content-Type: text/csv")
    with ScriptedServer([expect(), send(script)]) as server:
        with wirekit.Client(retry=0) as client:
            response = client.get(server.url + "/export.csv")
    assert response.text == text, response.encoding
