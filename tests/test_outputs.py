"""Output paths are checked before a run: directories, missing folders, files for folders."""

import os

import pytest

from descend.descent.outputs import check_output_dir, check_output_file


def test_a_file_path_must_be_a_file_in_an_existing_folder(tmp_path):
    assert check_output_file(tmp_path / "a.json", "--json") == str(tmp_path / "a.json")
    (tmp_path / "old.json").write_text("{}")
    assert check_output_file(tmp_path / "old.json", "--json")  # replaced: fine
    with pytest.raises(ValueError, match=r"--json '.*' is a directory, not a file: .*run.json"):
        check_output_file(tmp_path, "--json", "run.json")
    with pytest.raises(ValueError, match="folder '.*nope' for --json .* does not exist"):
        check_output_file(tmp_path / "nope" / "a.json", "--json")
    (tmp_path / "f").write_text("")
    with pytest.raises(ValueError, match="is a file, not a folder"):
        check_output_file(tmp_path / "f" / "a.json", "--json")
    assert sorted(os.listdir(tmp_path)) == ["f", "old.json"]  # nothing written


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_a_read_only_folder_is_refused(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir(mode=0o500)
    with pytest.raises(ValueError, match="no permission"):
        check_output_file(ro / "a.json", "--json")


def test_a_directory_path_may_be_missing_but_not_a_file(tmp_path):
    assert check_output_dir(tmp_path / "new" / "deeper", "--plot")
    (tmp_path / "f").write_text("")
    with pytest.raises(ValueError, match="--plot '.*f' is an existing file"):
        check_output_dir(tmp_path / "f", "--plot")
    with pytest.raises(ValueError, match="is a file, so no folder can be made there"):
        check_output_dir(tmp_path / "f" / "sub", "--plot")
    assert not (tmp_path / "new").exists()
