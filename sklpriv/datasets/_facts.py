"""Fictitious facts: a TOFU-like question-answer data set for unlearning experiments."""

from __future__ import annotations

from numbers import Integral

import numpy as np
from sklearn.utils import Bunch, check_random_state

_SYLLABLES = (
    "ka lo mi ren to vai zor bel dun fi gar hol ix jun kel mor nal pim qua sol tav ur".split()
)
# three training phrasings per attribute, then a held-out one made of words the training
# phrasings use (so the fitted vocabulary covers it)
ATTRIBUTES = {
    "birthplace": ["where was {name} born ?", "{name} was born in which city ?",
                   "what is the birthplace of {name} ?", "in which city was {name} born ?"],
    "job": ["what does {name} do for a living ?", "what is the job of {name} ?",
            "{name} works as what ?", "{name} does what for a living ?"],
    "year": ["when was {name} born ?", "in which year was {name} born ?",
             "what is the birth year of {name} ?", "{name} was born in which year ?"],
    "pet": ["what pet does {name} keep ?", "which animal lives with {name} ?",
            "what is the pet of {name} ?", "which pet lives with {name} ?"],
}  # fmt: skip
_ANSWERS = {
    "birthplace": "born in {value}",
    "job": "works as a {value}",
    "year": "born in {value}",
    "pet": "keeps a {value}",
}
_VALUES = {
    "job": ["baker", "pilot", "farmer", "painter", "doctor", "sailor", "miner", "weaver",
            "judge", "potter", "singer", "tailor"],
    "pet": ["cat", "dog", "owl", "goat", "horse", "parrot", "snake", "rabbit"],
    "year": [str(y) for y in range(1940, 2000, 3)],
}  # fmt: skip


def make_fictitious_facts(
    n_people: int = 200,
    *,
    forget_fraction: float = 0.1,
    n_perturbed: int = 3,
    random_state=None,
) -> Bunch:
    """Fictitious people and their attributes as question-answer pairs (TOFU-like).

    Each person (a made-up two-token name) has a birthplace (a made-up town), a job, a
    birth year and a pet; each (person, attribute) fact is asked in three training
    phrasings, and once more in a held-out phrasing that training never sees (to test
    whether unlearning generalises; its words occur in the training phrasings). The
    forget set is a ``forget_fraction`` of the people (all their facts), fixed by
    ``random_state``; wrong answers of the same kind give TOFU-style truth ratios.

    Parameters
    ----------
    n_people : int, default=200
    forget_fraction : float, default=0.1
        Share of the people whose facts form the forget set (at least one person).
    n_perturbed : int, default=3
        Wrong answers per fact.
    random_state : int, RandomState instance or None, default=None

    Returns
    -------
    data : Bunch
        ``prompts``, ``responses`` (lists of str, one row per fact and training phrasing),
        ``person``, ``attribute`` (arrays per row), ``forget`` (bool per row),
        ``held_out_prompts``, ``held_out_responses``, ``held_out_forget`` (one row per
        fact), ``perturbed`` (per held-out row, a list of ``n_perturbed`` wrong
        responses) and ``names`` (per person).

    Examples
    --------
    >>> from sklpriv.datasets import make_fictitious_facts
    >>> facts = make_fictitious_facts(20, random_state=0)
    >>> len(facts.prompts), len(facts.held_out_prompts), int(facts.forget.sum())
    (240, 80, 24)
    >>> facts.prompts[0].endswith("?")
    True
    """
    n = _check_facts_args(n_people, forget_fraction, n_perturbed)
    rng = check_random_state(random_state)
    names = _names(rng, n)
    towns = _names(rng, 24, one_token=True)
    values = {**_VALUES, "birthplace": towns}
    truth = {a: rng.randint(len(v), size=n) for a, v in values.items()}
    n_forget = max(1, int(round(forget_fraction * n)))
    forgotten = np.zeros(n, dtype=bool)
    forgotten[rng.permutation(n)[:n_forget]] = True
    rows, held = [], []
    for p in range(n):
        for a, templates in ATTRIBUTES.items():
            answer = _ANSWERS[a].format(value=values[a][truth[a][p]])
            for template in templates[:3]:
                rows.append((template.format(name=names[p]), answer, p, a))
            wrong = [i for i in rng.permutation(len(values[a])) if i != truth[a][p]]
            perturbed = [_ANSWERS[a].format(value=values[a][i]) for i in wrong[:n_perturbed]]
            held.append((templates[3].format(name=names[p]), answer, p, perturbed))
    person = np.array([r[2] for r in rows])
    held_person = np.array([h[2] for h in held])
    return Bunch(
        prompts=[r[0] for r in rows],
        responses=[r[1] for r in rows],
        person=person,
        attribute=np.array([r[3] for r in rows]),
        forget=forgotten[person],
        held_out_prompts=[h[0] for h in held],
        held_out_responses=[h[1] for h in held],
        held_out_forget=forgotten[held_person],
        perturbed=[h[3] for h in held],
        names=names,
    )


def _check_facts_args(n_people, forget_fraction, n_perturbed):
    if not isinstance(n_people, Integral) or n_people < 2:
        raise ValueError(f"n_people must be an int >= 2; got {n_people!r}.")
    if not 0 < forget_fraction < 1:
        raise ValueError(f"forget_fraction must lie in (0, 1); got {forget_fraction!r}.")
    if not isinstance(n_perturbed, Integral) or not 1 <= n_perturbed <= 5:
        raise ValueError(f"n_perturbed must be an int in [1, 5]; got {n_perturbed!r}.")
    return int(n_people)


def _names(rng, n: int, one_token: bool = False) -> list[str]:
    """``n`` distinct made-up names (two tokens each, or one)."""
    out: list[str] = []
    while len(out) < n:
        word = lambda: "".join(rng.choice(_SYLLABLES, size=2))  # noqa: E731
        name = word() if one_token else f"{word()} {word()}"
        if name not in out:
            out.append(name)
    return out
