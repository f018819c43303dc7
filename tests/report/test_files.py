"""Folder names of the weekly report files: one per branch, never shared, never the bank
summary's, the same every week."""

from __future__ import annotations

from flows.report.files import BANK_FOLDER, branch_folder_names


def test_branches_with_distinct_slugs_keep_their_plain_folder_names() -> None:
    assert branch_folder_names(["Filiale München", "Filiale Köln"]) == {
        "Filiale München": "filiale-muenchen",
        "Filiale Köln": "filiale-koeln",
    }


def test_branches_that_share_a_slug_or_take_the_banks_folder_get_unique_names() -> None:
    branches = ["Köln-Süd", "Köln Süd", "KÖLN SÜD", "Bank", "Filiale Bonn"]
    names = branch_folder_names(branches)
    assert len(set(names.values())) == len(branches)
    assert BANK_FOLDER not in names.values()
    assert names["Filiale Bonn"] == "filiale-bonn"
    for branch in ("Köln-Süd", "Köln Süd", "KÖLN SÜD"):
        assert names[branch].startswith("koeln-sued-") and len(names[branch]) == 19
    assert names["Bank"].startswith("bank-")
    # Deterministic: the same names whatever the order of the branches.
    assert branch_folder_names(reversed(branches)) == names


def test_a_branch_named_like_another_branchs_hashed_folder_cannot_take_it() -> None:
    names = branch_folder_names(["A B", "A-B"])
    clash = names["A B"]  # "a-b-<hash>": a third branch named exactly so
    again = branch_folder_names(["A B", "A-B", clash])
    assert len(set(again.values())) == 3
