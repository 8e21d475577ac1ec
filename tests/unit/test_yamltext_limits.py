"""Counting the YAML limits on the composed tree refuses exactly what the event walk refuses.

`yamltext.compose` counts a small text's limits on its node tree instead of parsing it twice;
for the same text it must accept, and refuse with the same message and line, as the careful
way every text was read before (`_checked_then_composed`: `check`, then composing). Random
documents full of anchors, aliases, merge keys and nesting are read both ways under small
limits, so every limit is met often.
"""

from __future__ import annotations

import random

import pytest
import yaml

from controller import yamltext

LIMITS = (
    yamltext.Limits("meta.yaml", max_bytes=64 * 1024, max_values=40,
                    max_expanded_bytes=10**6),
    yamltext.Limits("meta.yaml", max_bytes=64 * 1024, max_values=10**6,
                    max_expanded_bytes=90),
    yamltext.Limits("meta.yaml", max_bytes=64 * 1024, max_values=400, max_expanded_bytes=2000,
                    max_depth=5),
    yamltext.META_LIMITS,
)


class _Document:
    """A random YAML document (flow style) with anchors, aliases and merge keys."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.defined: list[str] = []  # anchors whose node is complete
        self.open: list[str] = []  # anchors of the collections being written
        self.count = 0

    def anchor(self) -> str:
        if self.rng.random() < 0.3:
            self.count += 1
            return f"&a{self.count} "
        return ""

    def node(self, depth: int) -> str:
        rng = self.rng
        roll = rng.random()
        if roll < 0.25 and self.defined:
            return f"*{rng.choice(self.defined)}"
        if roll < 0.27 and self.open:
            return f"*{rng.choice(self.open)}"  # an alias inside its own anchor
        if roll < 0.4 or depth > 7:
            anchor = self.anchor()
            text = f"{anchor}{'x' * rng.randint(0, 12)}"
            if anchor:
                self.defined.append(anchor[1:-1])
            return text
        anchor = self.anchor()
        if anchor:
            self.open.append(anchor[1:-1])
        if roll < 0.7:
            body = "[" + ", ".join(self.node(depth + 1) for _ in range(rng.randint(0, 5))) + "]"
        else:
            pairs = [f"k{i}: {self.node(depth + 1)}" for i in range(rng.randint(0, 5))]
            if self.defined and rng.random() < 0.3:
                pairs.append(f"<<: *{rng.choice(self.defined)}")
            body = "{" + ", ".join(pairs) + "}"
        if anchor:
            self.open.remove(anchor[1:-1])
            self.defined.append(anchor[1:-1])
        return f"{anchor}{body}"


def _outcome(read: object) -> str:
    try:
        root = read()  # type: ignore[operator]
    except yaml.YAMLError as err:
        return f"{type(err).__name__}: {err}"
    return "empty" if root is None else f"accepted: {len(root.value)} entries"


@pytest.mark.parametrize("seed", range(2))
def test_random_documents_get_the_same_verdict_and_message(seed: int) -> None:
    rng = random.Random(seed)
    seen: set[str] = set()
    for _ in range(400):
        text = "doc: " + _Document(rng).node(0) + "\n"
        for limits in LIMITS:
            old = _outcome(lambda t=text, lim=limits: yamltext._checked_then_composed(t, lim))
            new = _outcome(lambda t=text, lim=limits: yamltext.compose(t, lim))
            assert new == old, text
            seen.add(old.split(":")[0])
            seen.update(w for w in ("too many", "too large", "too deeply", "refers to itself")
                        if w in old)
    # every limit was met, and many documents were accepted
    assert {"accepted", "too many", "too large", "too deeply", "refers to itself"} <= seen


@pytest.mark.parametrize("text", [
    "a: 1\n---\nb: 2\n",
    "a: *nowhere\n",
    "a: &x 1\nb: &x 2\n",
    "a: &a [*a, *a, *a, *a]\n",
    "a: [1\n",
    "a:\n\t- 1\n",
    "x: " + "[" * 2000 + "]" * 2000 + "\n",
    "",
    "# nothing\n",
])
def test_unusual_documents_get_the_same_outcome(text: str) -> None:
    for limits in LIMITS:
        old = _outcome(lambda lim=limits: yamltext._checked_then_composed(text, lim))
        assert _outcome(lambda lim=limits: yamltext.compose(text, lim)) == old


def test_without_libyaml_deep_nesting_is_refused_not_a_crash(monkeypatch: pytest.MonkeyPatch
                                                             ) -> None:
    """PyYAML's pure-Python composer recurses, so only libyaml's may compose first."""
    monkeypatch.setattr(yamltext, "_FastLoader", yaml.SafeLoader)
    text = "x: " + "[" * 900 + "]" * 900 + "\n"
    with pytest.raises(yamltext.YamlRefused, match="nested too deeply"):
        yamltext.compose(text, yamltext.META_LIMITS)
