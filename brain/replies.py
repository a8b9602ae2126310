"""The bot's own fixed sentences, in the languages it supports (English is the fallback)."""

from __future__ import annotations

_HANDOFF = {
    "en": "I've passed your question to a teammate (reference {ticket}). They'll reply right here.",
    "de": "Ich habe Ihre Frage an das Team weitergegeben (Referenz {ticket}). "
    "Eine Kollegin oder ein Kollege antwortet Ihnen hier.",
    "fr": "J'ai transmis votre question à un membre de l'équipe (référence {ticket}). "
    "Il vous répondra ici.",
    "es": "He pasado su pregunta a un compañero del equipo (referencia {ticket}). "
    "Le responderá aquí mismo.",
}
_HUMAN = {
    "en": "Of course. I've asked a teammate to join (reference {ticket}); "
    "they'll reply right here.",
    "de": "Natürlich. Ich habe jemanden aus dem Team dazugeholt (Referenz {ticket}); "
    "die Antwort kommt hier.",
    "fr": "Bien sûr. J'ai demandé à un membre de l'équipe de vous rejoindre (référence {ticket}) ; "
    "il vous répondra ici.",
    "es": "Por supuesto. He pedido a un compañero que se una (referencia {ticket}); "
    "le responderá aquí mismo.",
}
_WAITING = {
    "en": "A teammate will reply here (reference {ticket}). I've added your message to the case.",
    "de": "Jemand aus dem Team antwortet Ihnen hier (Referenz {ticket}). "
    "Ich habe Ihre Nachricht ergänzt.",
    "fr": "Un membre de l'équipe vous répondra ici (référence {ticket}). "
    "J'ai ajouté votre message au dossier.",
    "es": "Un compañero le responderá aquí (referencia {ticket}). He añadido su mensaje al caso.",
}
_STILL_WAITING = {
    "en": "Your question is still with the team (reference {ticket}); a teammate will reply "
    "here as soon as they can. I've added your message to the case.",
    "de": "Ihre Frage liegt weiterhin beim Team (Referenz {ticket}); jemand antwortet Ihnen "
    "hier, so bald wie möglich. Ich habe Ihre Nachricht ergänzt.",
    "fr": "Votre question est toujours entre les mains de l'équipe (référence {ticket}) ; "
    "quelqu'un vous répondra ici dès que possible. J'ai ajouté votre message au dossier.",
    "es": "Su pregunta sigue en manos del equipo (referencia {ticket}); un compañero le "
    "responderá aquí lo antes posible. He añadido su mensaje al caso.",
}


def handoff(language: str, ticket: str, asked_for_human: bool) -> str:
    table = _HUMAN if asked_for_human else _HANDOFF
    return table.get(language, table["en"]).format(ticket=ticket)


def waiting(language: str, ticket: str) -> str:
    return _WAITING.get(language, _WAITING["en"]).format(ticket=ticket)


def still_waiting(language: str, ticket: str) -> str:
    """While a ticket waits unclaimed: the customer's message reached the team."""
    return _STILL_WAITING.get(language, _STILL_WAITING["en"]).format(ticket=ticket)
