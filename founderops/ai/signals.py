"""Cheap text signals: language and sentiment. Rules a person can read, no model download."""

from __future__ import annotations

import re

_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)

_STOPWORDS = {
    "en": {
        "the",
        "and",
        "is",
        "to",
        "my",
        "i",
        "you",
        "it",
        "of",
        "a",
        "in",
        "for",
        "can",
        "how",
        "what",
        "do",
        "not",
        "this",
        "please",
        "with",
        "have",
        "me",
    },
    "de": {
        "der",
        "die",
        "und",
        "ist",
        "ich",
        "nicht",
        "das",
        "ein",
        "mein",
        "wie",
        "sie",
        "zu",
        "mit",
        "bitte",
        "kann",
        "es",
        "auf",
        "für",
    },
    "fr": {
        "le",
        "la",
        "et",
        "est",
        "je",
        "pas",
        "les",
        "un",
        "une",
        "mon",
        "vous",
        "comment",
        "pour",
        "des",
        "ne",
        "de",
        "merci",
        "avec",
    },
    "es": {
        "el",
        "la",
        "y",
        "es",
        "yo",
        "no",
        "los",
        "un",
        "una",
        "mi",
        "usted",
        "cómo",
        "para",
        "por",
        "que",
        "de",
        "gracias",
        "con",
    },
    "it": {
        "il",
        "la",
        "e",
        "è",
        "io",
        "non",
        "gli",
        "un",
        "una",
        "mio",
        "come",
        "per",
        "che",
        "di",
        "grazie",
        "con",
        "sono",
    },
    "nl": {
        "de",
        "het",
        "en",
        "is",
        "ik",
        "niet",
        "een",
        "mijn",
        "hoe",
        "voor",
        "dat",
        "van",
        "bedankt",
        "met",
        "kan",
        "u",
    },
    "pt": {
        "o",
        "a",
        "e",
        "é",
        "eu",
        "não",
        "os",
        "um",
        "uma",
        "meu",
        "como",
        "para",
        "que",
        "de",
        "obrigado",
        "com",
        "você",
    },
}

_NEGATIVE = {
    "angry",
    "terrible",
    "awful",
    "worst",
    "broken",
    "useless",
    "frustrated",
    "frustrating",
    "unacceptable",
    "disappointed",
    "ridiculous",
    "hate",
    "bad",
    "horrible",
    "annoyed",
    "furious",
    "scam",
    "refund",
    "cancel",
    "never",
    "fail",
    "failed",
    "failing",
    "wrong",
    "error",
    "cannot",
    "can't",
    "doesn't",
    "won't",
    "problem",
    "issue",
    "stuck",
    "lost",
    "charged",
    "twice",
}
_POSITIVE = {
    "thanks",
    "thank",
    "great",
    "love",
    "awesome",
    "excellent",
    "amazing",
    "happy",
    "perfect",
    "appreciate",
    "wonderful",
    "nice",
    "good",
    "helpful",
    "pleased",
}
_INTENSIFIERS = {"very", "really", "extremely", "so", "totally", "completely"}


def words(text: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(text)]


def detect_language(text: str) -> str:
    """ISO 639-1 code of the most likely language among those we know, 'en' when unsure."""
    tokens = words(text)
    if not tokens:
        return "en"
    scores = {lang: sum(t in stop for t in tokens) for lang, stop in _STOPWORDS.items()}
    best = max(scores, key=lambda lang: scores[lang])
    return best if scores[best] > scores["en"] else "en"


def sentiment(text: str) -> str:
    tokens = words(text.replace("'", ""))
    negatives = sum(t in _NEGATIVE or t.replace("'", "") in _NEGATIVE for t in tokens)
    positives = sum(t in _POSITIVE for t in tokens)
    shouting = sum(1 for w in text.split() if len(w) > 3 and w.isupper())
    negatives += shouting + text.count("!!")
    if negatives > positives:
        return "negative"
    if positives > negatives:
        return "positive"
    return "neutral"
