"""The topics a meeting log can be filed under, with the words that point to each.

Keywords are written lower-case without accents (the parser folds what people type the
same way), as whole words or phrases; a trailing plural "s" is accepted by the matcher, so
"interview" also finds "interviews". A program may pass its own topic list; these six are
the default for career mentoring.
"""

from __future__ import annotations

from dataclasses import dataclass

from locales.translator import N_


@dataclass(frozen=True)
class Topic:
    """One topic: a stable `key` stored in the log, an English `label` marked for
    translation (shown with `tr.gettext(topic.label)`), and the `keywords` that select it."""

    key: str
    label: str
    keywords: tuple[str, ...]


DEFAULT_TOPICS: tuple[Topic, ...] = (
    Topic(
        key="resume",
        label=N_("Résumé"),
        keywords=("resume", "cv", "curriculum vitae", "cover letter",
                  "lettre de presentation", "lettre de motivation"),
    ),
    Topic(
        key="networking",
        label=N_("Networking"),
        keywords=("networking", "network", "reseautage", "reseau", "linkedin"),
    ),
    Topic(
        key="interview",
        label=N_("Interview preparation"),
        keywords=("interview", "mock interview", "entrevue", "entretien",
                  "simulation d'entrevue", "entrevue simulee"),
    ),
    Topic(
        key="labour_market",
        label=N_("Labour market"),
        keywords=("labour market", "labor market", "job market", "job search",
                  "marche du travail", "marche de l'emploi", "recherche d'emploi"),
    ),
    Topic(
        key="workplace_culture",
        label=N_("Workplace culture"),
        keywords=("workplace culture", "work culture", "company culture", "canadian workplace",
                  "culture de travail", "culture d'entreprise", "culture organisationnelle",
                  "milieu de travail"),
    ),
    Topic(
        key="goals",
        label=N_("Goals"),
        keywords=("goal", "goals", "objectif", "plan", "career plan", "plan de carriere"),
    ),
)  # fmt: skip
