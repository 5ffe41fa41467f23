"""Subject-verb-object triples read off a dependency tree.

For every predicate (a token with a nominal subject, and the verbs conjoined
to it, which share its subject) the triples are its subjects times its
objects, where

- subjects: ``nsubj`` children (and ``nsubjpass`` / ``nsubj:pass``), each with
  its conjuncts (``John and Mary`` gives two);
- objects: ``dobj``/``obj``/``attr`` children with their conjuncts; when there are
  none, prepositional objects (spaCy ``prep`` -> ``pobj``, UD ``obl`` with its
  ``case``), the preposition joining the verb (``looked at``);
- passive voice (a passive subject) turns the roles round: the passive subject
  is the object and the ``agent`` (``by ...``; UD ``obl:agent``) the subject,
  None when the sentence does not say who;
- ``negated``: the verb has a ``neg`` child (UD: ``advmod`` "not", "n't", "never").

Both spaCy's English labels (ClearNLP) and UD labels are understood, so the
stage works on spaCy's parse or on a treebank's. Phrases are the head word
with its determiners, adjectives, compounds, numbers and possessors.
"""

from __future__ import annotations

from dataclasses import dataclass

from nlpkit.errors import RecordError
from nlpkit.linguistic.annotate.runner import SpacyStage, retokenize_param, spacy_model_param

SUBJECTS = {"nsubj", "nsubjpass", "nsubj:pass"}
PASSIVE_SUBJECTS = {"nsubjpass", "nsubj:pass"}
OBJECTS = {"dobj", "obj", "attr"}
NEGATIONS = {"not", "n't", "never"}
PARTICLES = {"prt", "compound:prt"}
# relations (before any ':' subtype) that belong to a noun phrase
PHRASE = {"det", "predet", "amod", "compound", "poss", "nummod", "quantmod", "nmod", "nn", "flat", "fixed", "case"}


class Tree:
    """Tokens with heads (0-based, a root points at itself) and labels."""

    def __init__(self, tokens: list[str], heads: list[int], labels: list[str]):
        self.tokens = tokens
        self.heads = heads
        self.labels = labels
        self.children: list[list[int]] = [[] for _ in tokens]
        for i, head in enumerate(heads):
            if head != i:
                self.children[head].append(i)

    def kids(self, i: int, labels: set[str] | str) -> list[int]:
        labels = {labels} if isinstance(labels, str) else labels
        return [c for c in self.children[i] if self.labels[c] in labels]

    def with_conjuncts(self, i: int) -> list[int]:
        out = [i]
        for c in self.kids(i, "conj"):
            out.extend(self.with_conjuncts(c))
        return out

    def phrase(self, i: int, skip_own_case: bool = False) -> str:
        picked = [i]
        stack = [i]
        while stack:
            node = stack.pop()
            for c in self.children[node]:
                base = self.labels[c].split(":")[0]
                if base in PHRASE and not (skip_own_case and node == i and base == "case"):
                    picked.append(c)
                    stack.append(c)
        return " ".join(self.tokens[j] for j in sorted(picked))

    def negated(self, i: int) -> bool:
        return any(
            self.labels[c] == "neg" or (self.labels[c] == "advmod" and self.tokens[c].lower() in NEGATIONS)
            for c in self.children[i]
        )


def triples(tokens: list[str], heads: list[int], labels: list[str]) -> list[dict]:
    """SVO triples of one (possibly multi-sentence) tree. See the module docstring."""
    tree = Tree(tokens, heads, labels)
    predicates: dict[int, list[int]] = {}  # verb -> subject tokens (its own, else inherited)
    for i in range(len(tokens)):
        subjects = tree.kids(i, SUBJECTS)
        if subjects and i not in predicates:
            predicates[i] = subjects
            for verb in tree.with_conjuncts(i)[1:]:
                if not tree.kids(verb, SUBJECTS):
                    predicates[verb] = subjects
    out = []
    for verb in sorted(predicates):
        out.extend(_verb_triples(tree, verb, predicates[verb]))
    return out


def _verb_triples(tree: Tree, verb: int, subject_heads: list[int]) -> list[dict]:
    verb_text = " ".join(tree.tokens[j] for j in sorted([verb, *tree.kids(verb, PARTICLES)]))
    copula = tree.kids(verb, "cop")
    negated = tree.negated(verb) or any(tree.negated(c) for c in copula)
    subjects = [s for head in subject_heads for s in tree.with_conjuncts(head)]
    passive = any(tree.labels[s] in PASSIVE_SUBJECTS for s in subject_heads)

    if passive:
        agents = [a for agent in tree.kids(verb, "agent") for p in tree.kids(agent, {"pobj"}) for a in tree.with_conjuncts(p)]
        agents += [a for obl in tree.kids(verb, "obl:agent") for a in tree.with_conjuncts(obl)]
        pairs = [(tree.phrase(a, skip_own_case=True), verb_text) for a in agents] or [(None, verb_text)]
        return [
            {"subject": agent, "verb": text, "object": tree.phrase(s), "negated": negated}
            for s in subjects for agent, text in pairs
        ]

    if copula:  # UD: "She is a doctor" hangs on "doctor", with "is" as its copula
        objects = [(tree.tokens[copula[0]], o, False) for o in tree.with_conjuncts(verb)]
    else:
        objects = [(verb_text, o, False) for head in tree.kids(verb, OBJECTS) for o in tree.with_conjuncts(head)]
    if not objects:
        for prep in tree.kids(verb, "prep"):
            for head in tree.kids(prep, {"pobj"}):
                objects += [(f"{verb_text} {tree.tokens[prep]}", o, False) for o in tree.with_conjuncts(head)]
        for obl in tree.kids(verb, "obl"):
            case = tree.kids(obl, "case")
            text = f"{verb_text} {tree.tokens[case[0]]}" if case else verb_text
            objects += [(text, o, True) for o in tree.with_conjuncts(obl)]
    return [
        {"subject": tree.phrase(s), "verb": text, "object": tree.phrase(o, skip_own_case=own_case), "negated": negated}
        for s in subjects for text, o, own_case in objects
    ]


def _record_tree(record: dict) -> tuple[list[str], list[int], list[str]] | None:
    """The record's own tree, when it has one aligned with its tokens."""
    tokens, deps = record.get("tokens"), record.get("deps")
    if not isinstance(tokens, list) or not isinstance(deps, list) or len(tokens) != len(deps):
        return None
    try:
        heads = [d["head"] for d in deps]
        labels = [str(d["dep"]) for d in deps]
    except (TypeError, KeyError):
        raise RecordError("field 'deps' must be a list of {'head', 'dep'} objects") from None
    if not all(isinstance(h, int) and 0 <= h < len(tokens) for h in heads):
        raise RecordError("field 'deps' has a head outside the sentence")
    return tokens, heads, labels


@dataclass
class SvoOptions:
    """Add subject-verb-object triples: `svo`, [{subject, verb, object, negated}].

    Uses the record's `deps` when it has them (after `nlpkit parse`, or from a
    treebank), else parses with spaCy. Passive voice is turned active (the
    agent is the subject); conjoined subjects, verbs and objects give one
    triple each.

    \b
      echo 'The mouse was not chased by the cat.' | nlpkit svo
      {"id":"stdin:1",...,"svo":[{"subject":"the cat","verb":"chased","object":"The mouse","negated":true}]}
    """

    model: str | None = spacy_model_param()
    retokenize: bool = retokenize_param()

    def build(self, field: str = "text") -> SvoStage:
        return SvoStage(model=self.model, field=field, retokenize=self.retokenize, n_process=1)


class SvoStage(SpacyStage):
    """Adds `svo`: ``[{"subject", "verb", "object", "negated"}]``.

    A record that already has `deps` (from `nlpkit parse`, or a treebank) is read as
    it is; others are parsed with spaCy (tagger-free: the parser only).
    """

    main_field = "svo"

    def __init__(self, *, model=None, field="text", retokenize=False, n_process=1):
        super().__init__(("deps",), model=model, field=field, retokenize=retokenize, n_process=n_process)

    def setup(self) -> None:
        pass  # the parser loads on the first record that needs it

    def process(self, records):
        trees = [None if self.retokenize else _record_tree(r) for r in records]
        todo = [r for r, t in zip(records, trees) if t is None]
        if todo:
            if not hasattr(self, "_nlp"):
                super().setup()
            parsed = iter(super().process(todo))
        out = []
        for record, tree in zip(records, trees):
            if tree is None:
                parsed_record = next(parsed)
                tree = _record_tree(parsed_record)
            out.append({**record, "svo": triples(*tree)})
        return out


def svo(text: str) -> list[tuple[str | None, str, str, bool]]:
    """>>> svo("The cat chased the mouse.")
    [('The cat', 'chased', 'the mouse', False)]
    """
    record = next(iter(SvoStage()([{"text": text}])))
    return [(t["subject"], t["verb"], t["object"], t["negated"]) for t in record["svo"]]
