"""M2: Krippendorff's alpha, nominal, on one label's per-character 0/1 values.

Units are the characters of the documents with two or more annotators. Annotator ``a``'s
value for a character is 1 if one of ``a``'s spans of the label covers it, 0 if not, and
missing if ``a`` did not annotate the document. For nominal data::

    alpha = 1 - (n - 1) * sum_{c != k} o_ck / sum_{c != k} n_c n_k

where ``o`` is the coincidence matrix (a unit with ``m_u`` values, ``n0_u`` zeros and
``n1_u`` ones adds ``n0_u n1_u / (m_u - 1)`` to ``o_01`` and to ``o_10``), ``n_c`` its
margins and ``n`` the number of pairable values. With two values this is::

    alpha = 1 - (n - 1) * D / (n_0 * n_1),     D = sum_u n0_u n1_u / (m_u - 1)

A unit with fewer than two values is not pairable and adds nothing, which is why the
documents with a single annotator are left out. The caller gets ``n``, ``n_1`` and ``D``
from run-length sums (``segments.py``): all characters of a document have the same
``m_u``, and ``sum_u n1_u (m_u - n1_u) = (m - 1) sum_a c_a - 2 sum_{a<b} x_ab``.

Reference: ``krippendorff.alpha(reliability_data, level_of_measurement="nominal")`` on
the per-character matrix (tests build it; the product never does).

Undefined (``None`` with a reason): no pairable value, or no variation (every pairable
value is 0, or every one is 1): the package would divide by zero.
"""

from __future__ import annotations

from annotations.agreement.types import Measure, Number


def binary_nominal_alpha(
    values: Number, ones: Number, disagreement_num: Number, disagreement_den: Number
) -> Measure:
    """Alpha from ``n`` (pairable values), ``n_1`` and ``D = disagreement_num / disagreement_den``.

    With integer arguments the result is the correctly rounded quotient of two integers.
    """
    if values == 0:
        return None, "no pairable characters: no document with text has two annotators"
    zeros = values - ones
    if ones == 0:
        return None, "no variation: no annotator marked this label"
    if zeros == 0:
        return None, "no variation: every annotator covered every character with this label"
    expected = disagreement_den * zeros * ones
    return (expected - (values - 1) * disagreement_num) / expected, None
