"""Active latent units: the check for a collapsed posterior (Burda et al., 2016)."""

from __future__ import annotations

import numpy as np

from ._checks import check_codes

#: A unit whose posterior mean varies less than this across inputs carries no information
#: about them (Burda, Grosse & Salakhutdinov 2016, "Importance weighted autoencoders").
ACTIVE_VARIANCE = 0.01


def active_units(codes: np.ndarray, threshold: float = ACTIVE_VARIANCE) -> int:
    """The number of latent dimensions whose posterior mean varies across inputs.

    ``codes``: float [N, D], posterior means (or any embedding) of N inputs. Returns the
    count of dimensions with variance over the N inputs above ``threshold``. Zero means the
    posterior has collapsed onto the prior: the code says nothing about its input.
    """
    codes = check_codes(codes)
    return int((codes.var(axis=0) > threshold).sum())
