"""The document: one command per edit, undo/redo, merging, generations, modified state."""

from __future__ import annotations

import dataclasses

from explorer.core.presets import preset_spec
from explorer.ui.document import Document


def test_edit_undo_redo_and_generation(qtbot):
    doc = Document()
    first = preset_spec("lenet")
    doc.open_spec(first, undoable=False)
    assert not doc.modified and doc.generation == 1
    renamed = dataclasses.replace(first, name="mine")
    with qtbot.waitSignal(doc.changed):
        assert doc.edit("Rename", renamed)
    assert doc.spec is renamed and doc.modified and doc.generation == 2
    doc.undo_stack.undo()
    assert doc.spec is first and not doc.modified and doc.generation == 3
    doc.undo_stack.redo()
    assert doc.spec is renamed and doc.generation == 4
    assert doc.undo_stack.undoText() == "Rename"


def test_an_edit_that_changes_nothing_is_not_recorded():
    doc = Document()
    spec = preset_spec("lenet")
    doc.open_spec(spec, undoable=False)
    assert not doc.edit("Nothing", spec)
    assert doc.undo_stack.count() == 0 and not doc.modified


def test_edits_with_the_same_merge_key_are_one_command():
    doc = Document()
    spec = preset_spec("lenet")
    doc.open_spec(spec, undoable=False)
    for classes in (11, 12, 13):
        doc.edit("Set classes", dataclasses.replace(spec, num_classes=classes), merge_key="c")
    doc.edit("Rename", dataclasses.replace(doc.spec, name="x"), merge_key="n")
    assert doc.undo_stack.count() == 2
    doc.undo_stack.undo()
    doc.undo_stack.undo()
    assert doc.spec.num_classes == 10


def test_opening_a_preset_is_undoable_and_not_unsaved_until_edited(tmp_path):
    doc = Document()
    lenet = preset_spec("lenet")
    doc.open_spec(lenet, undoable=False)
    doc.open_spec(preset_spec("nin"))
    assert doc.spec.name == "nin" and not doc.modified and doc.saved_spec.name == "nin"
    doc.edit("Rename", dataclasses.replace(doc.spec, name="mine"))
    assert doc.modified and doc.saved_spec.name == "nin"
    doc.mark_saved(tmp_path / "mine.json")
    assert not doc.modified and doc.path == tmp_path / "mine.json"
    assert doc.saved_spec.name == "mine" and doc.saved_path == tmp_path / "mine.json"
    doc.undo_stack.undo()  # an edit undone stays in the file it was saved to
    assert doc.spec.name == "nin" and doc.path == tmp_path / "mine.json" and doc.modified
    doc.undo_stack.redo()  # back to what the file holds
    assert doc.spec.name == "mine" and doc.path == tmp_path / "mine.json" and not doc.modified
    doc.undo_stack.undo()
    doc.undo_stack.undo()
    assert doc.spec is lenet and doc.path is None and doc.modified


def test_restored_work_counts_as_unsaved_and_torchvision_is_read_only():
    doc = Document()
    doc.open_spec(preset_spec("lenet"), undoable=False, unsaved=True)
    assert doc.modified and doc.saved_spec is None
    nin = preset_spec("nin")
    doc.open_spec(nin, undoable=False, unsaved=True, saved=(preset_spec("lenet"), None))
    assert doc.modified and doc.saved_spec.name == "lenet"
    doc.open_spec(nin, undoable=False)
    doc.open_torchvision("torchvision:resnet18")
    assert doc.read_only and doc.torchvision == "torchvision:resnet18"
    assert not doc.modified  # looking at a torchvision model changes nothing of the network
    assert not doc.edit("Rename", dataclasses.replace(doc.spec, name="x"))
    doc.undo_stack.undo()
    assert not doc.read_only


def test_modified_changed_follows_the_clean_state():
    doc = Document()
    spec = preset_spec("lenet")
    doc.open_spec(spec, undoable=False)
    seen = []
    doc.modifiedChanged.connect(seen.append)
    doc.edit("Rename", dataclasses.replace(spec, name="x"))
    doc.undo_stack.undo()
    doc.undo_stack.redo()
    assert seen == [True, False, True]
