"""The user's block library: save, list, replace, delete, bad files skipped with a reason."""

from __future__ import annotations

import pytest

from explorer.core.library import (
    check_name,
    delete_user_block,
    library_folder,
    load_user_blocks,
    save_user_block,
    starter_params,
)
from explorer.core.registry import list_blocks
from explorer.core.spec import BlockSpec, validate_block

RESIDUAL = BlockSpec.from_dict({"type": "residual", "body": [
    {"type": "conv2d", "out_channels": 8, "kernel_size": 3, "padding": 1}, {"type": "relu"}]})


def test_saved_block_comes_back_equal(tmp_path):
    save_user_block("my res", RESIDUAL, "two convs", folder=tmp_path)
    blocks, problems = load_user_blocks(tmp_path)
    assert problems == []
    assert [(b.name, b.description) for b in blocks] == [("my res", "two convs")]
    assert blocks[0].block.to_dict() == RESIDUAL.to_dict()


def test_same_name_replaces_and_delete_removes(tmp_path):
    save_user_block("stem", RESIDUAL, folder=tmp_path)
    other = BlockSpec.from_dict({"type": "group", "name": "stem", "blocks": [{"type": "relu"}]})
    save_user_block("stem", other, folder=tmp_path)
    blocks, _ = load_user_blocks(tmp_path)
    assert len(blocks) == 1 and blocks[0].block.type == "group"
    delete_user_block("stem", folder=tmp_path)
    assert load_user_blocks(tmp_path) == ([], [])


def test_default_folder_is_the_user_data_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert library_folder() == tmp_path / "network-explorer" / "blocks"
    save_user_block("a", RESIDUAL)
    assert [b.name for b in load_user_blocks()[0]] == ["a"]


def test_unreadable_files_are_skipped_with_a_reason(tmp_path):
    save_user_block("good", RESIDUAL, folder=tmp_path)
    (tmp_path / "broken.json").write_text("{not json")
    (tmp_path / "other.json").write_text('{"format": "something-else"}')
    blocks, problems = load_user_blocks(tmp_path)
    assert [b.name for b in blocks] == ["good"]
    assert len(problems) == 2
    assert any("broken.json" in p and "not valid JSON" in p for p in problems)
    assert any("other.json" in p and "not a saved block" in p for p in problems)


@pytest.mark.parametrize("name", ["", "  ", "1abc", "a/b", "x" * 65, "../evil"])
def test_bad_names_are_refused_with_what_would_be_valid(name):
    with pytest.raises(ValueError, match="letters, digits"):
        check_name(name)


def test_a_block_with_starter_params_is_valid_for_every_registered_block():
    for definition in list_blocks():
        block = BlockSpec.from_dict({"type": definition.name, **starter_params(definition)})
        validate_block(block)
    conv = next(d for d in list_blocks() if d.name == "conv2d")
    assert starter_params(conv) == {"out_channels": 16}
    linear = next(d for d in list_blocks() if d.name == "linear")
    assert starter_params(linear) == {"out_features": "classes"}
