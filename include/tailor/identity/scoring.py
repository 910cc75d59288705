"""Pairwise scoring of a clustering against ground truth (the benchmark, tests).

Pairwise over customer records: a pair is predicted when both records get
one cluster and true when the generator made them for one person. Counted
from cluster sizes (sum of n choose 2), never by listing pairs, so 100k
records score in milliseconds.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class PairwiseScore:
    """Precision, recall and F1 over record pairs."""

    true_pairs: int
    predicted_pairs: int
    correct_pairs: int

    @property
    def precision(self) -> float:
        return self.correct_pairs / self.predicted_pairs if self.predicted_pairs else 1.0

    @property
    def recall(self) -> float:
        return self.correct_pairs / self.true_pairs if self.true_pairs else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def _pairs(sizes: Iterable[int]) -> int:
    return sum(n * (n - 1) // 2 for n in sizes)


def pairwise_score(predicted: Mapping[int, Hashable], truth: Mapping[int, Hashable]) -> PairwiseScore:
    """Score ``predicted`` (record -> cluster) against ``truth`` (record -> person).

    Only records present in both count; a record missing from ``predicted``
    is its own cluster.
    """
    records = [r for r in truth]
    cluster = {r: predicted.get(r, ("alone", r)) for r in records}
    return PairwiseScore(
        true_pairs=_pairs(Counter(truth[r] for r in records).values()),
        predicted_pairs=_pairs(Counter(cluster[r] for r in records).values()),
        correct_pairs=_pairs(Counter((cluster[r], truth[r]) for r in records).values()),
    )


def components(records: Iterable[int], edges: Iterable[tuple[int, int]]) -> dict[int, int]:
    """Connected components (record -> smallest record of its component).

    The same rule as the dbt model int_customers_clustered, for scoring a
    subset of the edges (e.g. deterministic only) without rebuilding.
    """
    import networkx as nx

    graph = nx.Graph()
    graph.add_nodes_from(records)
    graph.add_edges_from(edges)
    return {node: min(part) for part in nx.connected_components(graph) for node in part}
