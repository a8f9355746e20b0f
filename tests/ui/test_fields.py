"""The one Param editor: arrows step within the range, typed numbers are kept as typed and
refused with the range, a "classes"/auto check box stands for the special value."""

from __future__ import annotations

from explorer.core.registry import Param, get_block
from explorer.ui.widgets.fields import NumberEdit, ParamField, format_size, parse_size


def test_arrows_step_within_the_range(qtbot):
    channels = NumberEdit(Param("c", "int", 1, minimum=1, maximum=8))
    qtbot.addWidget(channels)
    channels.set_number(6)
    channels.stepBy(5)
    assert channels.number() == 8                       # stops at the maximum
    channels.set_number(2)
    channels.stepBy(-5)
    assert channels.number() == 1                       # and at the minimum
    p = NumberEdit(get_block("dropout").param("p"))      # 0 ≤ p < 1
    qtbot.addWidget(p)
    p.set_number(0.95)
    p.stepBy(1)
    assert p.number() < 1.0


def test_typed_numbers_are_kept_and_refused_with_the_range(qtbot):
    field = ParamField(Param("c", "int", 1, minimum=1, maximum=8))
    qtbot.addWidget(field)
    edits = []
    field.edited.connect(edits.append)
    field.editor.lineEdit().setText("70000")
    field._commit()
    assert field.editor.number() == 70000 and edits == []
    assert field.error.text() == "c = 70000 is not valid; expected an integer ≥ 1 and ≤ 8"
    field.editor.lineEdit().setText("7")
    field._commit()
    assert edits == [7] and field.error.text() == ""


def test_the_check_box_stands_for_classes_or_none(qtbot):
    out = ParamField(get_block("linear").param("out_features"))
    qtbot.addWidget(out)
    out.set_value("classes")
    assert out.alt.isChecked() and out.value() == "classes" and not out.editor.isEnabled()
    out.set_value(12)
    assert not out.alt.isChecked() and out.value() == 12
    step = ParamField(Param("step_size", "int", None, minimum=1), none_text="auto")
    qtbot.addWidget(step)
    step.set_value(None)
    assert step.alt.text() == "auto" and step.value() is None


def test_sizes_round_trip_as_typed():
    assert parse_size(format_size([3, 5])) == [3, 5] and parse_size(format_size(4)) == 4
    assert format_size(None) == "" and parse_size("") is None
