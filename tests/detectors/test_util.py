import warnings

import numpy as np

from distillguard.detectors._util import squash


def test_squash_maps_far_below_its_centre_to_zero_without_a_warning() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = squash(np.array([-1e6, 1.0, 1e6]), 1.0, 0.5)
    assert got.tolist() == [0.0, 0.5, 1.0]
