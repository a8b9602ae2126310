"""The offline answerer: the best knowledge-base passage, in the customer's language if the
knowledge base has it. No network, no keys, no cost; the confidence is the retrieval score."""

from __future__ import annotations

from brain.providers.base import Answer, AnswerRequest
from channels.frozen import constructor

# Said before an answer the knowledge base only has in its own language.
ONLY_IN_DEFAULT = {
    "en": "I only have this answer in English:",
    "de": "Diese Antwort habe ich leider nur auf Englisch:",
    "fr": "Je n'ai malheureusement cette réponse qu'en anglais :",
    "es": "Lo siento, solo tengo esta respuesta en inglés:",
    "it": "Purtroppo ho questa risposta solo in inglese:",
    "nl": "Dit antwoord heb ik helaas alleen in het Engels:",
    "pt": "Infelizmente só tenho esta resposta em inglês:",
}


# One answer a message on the KB path: the class's own call at a sixth of the cost.
_new_answer = constructor(Answer)


class OfflineAnswerer:
    name = "offline"

    def __init__(self, default_language: str = "en") -> None:
        self.default_language = default_language

    async def close(self) -> None:
        return None

    async def answer(self, request: AnswerRequest) -> Answer:
        if not request.passages:
            return Answer("", 0.0, (), True, self.name)  # needs a human
        best = request.passages[0]
        text = best.translations.get(request.language)
        if text is None:
            text = best.text
            lead = ONLY_IN_DEFAULT.get(request.language)
            if request.language != self.default_language and lead is not None:
                text = f"{lead}\n\n{text}"
        return _new_answer(text[: request.max_chars], best.score, (best.id,), False, self.name)
