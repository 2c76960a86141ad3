"""M3 Cohen's kappa and M4 Fleiss' kappa, from counts.

M3, Cohen's kappa for one pair of annotators, computed the way
``sklearn.metrics.cohen_kappa_score`` does: with the confusion table ``C`` (``N`` items),
row margins ``r`` and column margins ``c``::

    kappa = 1 - N * sum_{i != j} C_ij / sum_{i != j} r_i c_j
          = (N * diag - sum_i r_i c_i) / (N^2 - sum_i r_i c_i)

At character level (per label) the table is 2 x 2 and comes from three run-length sums
over the characters of the documents both annotated: ``a`` covered by the first annotator,
``b`` by the second, ``both`` by the two. ``cohen_kappa_nominal`` takes any table and serves
attribute agreement (sentiment polarity, source kind on exactly matched spans).

M4, Fleiss' kappa, as ``statsmodels.stats.inter_rater.fleiss_kappa(table, method="fleiss")``
on a subjects x categories table where every subject has the same number ``n`` of raters::

    P_i = (sum_j n_ij^2 - n) / (n (n - 1)),    P = mean_i P_i,    P_e = sum_j p_j^2
    kappa = (P - P_e) / (1 - P_e)

Subjects are the characters of the documents that every annotator annotated. With two
categories, ``sum_i sum_j n_ij^2`` follows from the ones ``S = sum_a c_a`` and the pairwise
overlaps ``X = sum_{a<b} x_ab``: ``sum_i n1_i^2 = 2X + S``.

References: ``sklearn.metrics.cohen_kappa_score`` and ``statsmodels``' ``fleiss_kappa``.
Undefined (``None`` with a reason): no item, or a single category in the data (both
references divide zero by zero there).
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping

from annotations.agreement.types import Measure, Number

NO_VARIATION = "no variation: both annotators gave the same single value everywhere"


def cohen_kappa_binary(items: Number, ones_a: Number, ones_b: Number, both: Number) -> Measure:
    """Cohen's kappa of two 0/1 sequences of length ``items``, from their counts of ones."""
    if items == 0:
        return None, "no shared characters: the two annotators share no document with text"
    # sum_{i != j} r_i c_j for a 2 x 2 table.
    expected = (items - ones_a) * ones_b + ones_a * (items - ones_b)
    if expected == 0:
        return None, NO_VARIATION
    observed = ones_a + ones_b - 2 * both
    return (expected - items * observed) / expected, None


def cohen_kappa_nominal(table: Mapping[tuple[Hashable, Hashable], Number]) -> Measure:
    """Cohen's kappa from a confusion table ``{(value_a, value_b): count}``."""
    items: Number = 0
    diagonal: Number = 0
    rows: dict[Hashable, Number] = {}
    columns: dict[Hashable, Number] = {}
    for (value_a, value_b), count in table.items():
        items += count
        if value_a == value_b:
            diagonal += count
        rows[value_a] = rows.get(value_a, 0) + count
        columns[value_b] = columns.get(value_b, 0) + count
    if items == 0:
        return None, "no matched items"
    chance = sum(count * columns.get(value, 0) for value, count in rows.items())
    expected = items * items - chance
    if expected == 0:
        return None, NO_VARIATION
    return (items * diagonal - chance) / expected, None


def fleiss_kappa_binary(
    subjects: Number, raters: int, ones: Number, pair_overlap: Number
) -> Measure:
    """Fleiss' kappa of ``subjects`` 0/1 items each rated by ``raters`` annotators.

    ``ones`` counts the 1 ratings; ``pair_overlap`` counts, over the items, the pairs of
    raters who both said 1.
    """
    if subjects == 0:
        return None, "no character of a document annotated by every annotator"
    ratings = subjects * raters
    # sum_i (sum_j n_ij^2 - n), with sum_j n_ij^2 = n1^2 + (n - n1)^2.
    sum_squares_ones = 2 * pair_overlap + ones
    agreement = subjects * raters * raters - 2 * raters * ones + 2 * sum_squares_ones - ratings
    chance = ones * ones + (ratings - ones) * (ratings - ones)
    denominator = (raters - 1) * (ratings * ratings - chance)
    if denominator == 0:
        return None, "no variation: every rating is the same"
    return (agreement * ratings - chance * (raters - 1)) / denominator, None
