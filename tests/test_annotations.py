"""Mask revisions: human edits win over the model and can be undone (projects keep them on disk)."""
import numpy as np
import pytest

from ui.annotations import MaskEdits


def test_revisions_provenance_and_undo():
    edits = MaskEdits()
    assert edits.current(1, 0, "amodal") is None and edits.provenance(1, 0, "amodal") == "model"
    a = np.zeros((20, 30), bool)
    a[2:9, 4:12] = True
    b = a.copy()
    b[10:15, 10:20] = True
    edits.push(1, 0, "amodal", a)
    edits.push(1, 0, "amodal", b)
    np.testing.assert_array_equal(edits.current(1, 0, "amodal"), b)
    assert edits.provenance(1, 0, "amodal") == "human" and len(edits) == 2
    assert list(edits.newest_all()) == [(1, 0, "amodal")]
    again = MaskEdits()
    again.restore(edits.state())
    np.testing.assert_array_equal(again.current(1, 0, "amodal"), b)
    assert again.undo(1, 0, "amodal")
    np.testing.assert_array_equal(again.current(1, 0, "amodal"), a)
    again.drop_object(1)
    assert again.current(1, 0, "amodal") is None and not again.undo(1, 0, "amodal")
    with pytest.raises(ValueError, match="kind"):
        edits.push(1, 0, "occluded", a)
