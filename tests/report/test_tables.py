"""avsep's tables: rows per model/variant with seeds aggregated, baselines always present, papers apart."""

from __future__ import annotations

from pathlib import Path

from avsep.report.collect import parse_metrics
from avsep.report.layouts import LAYOUTS
from avsep.report.papers import shipped
from avsep.report.tables import match_entry, ours_table, task_tables


def doc(model, protocols, seed=None, variant="", split="test", dataset="world"):
    return parse_metrics(
        {"model": model, "split": split, "seed": seed, "variant": variant, "dataset": dataset, "protocols": protocols},
        Path(f"{model}-{seed}.json"),
    )


def layout(layout_id):
    return next(lay for lay in LAYOUTS if lay.id == layout_id)


def test_seeds_are_averaged_with_sample_sd(params):
    # cIoU@0.5 over three seeds 0.60, 0.70, 0.80 -> mean 70.0 %, sample sd sqrt(((-10)^2+0+10^2)/2) = 10.0
    docs = [
        doc("dsol", {"dsol@solo": {"ciou@0.5": v, "auc": 0.5, "n": 40}}, seed=s)
        for s, v in enumerate((0.60, 0.70, 0.80))
    ]
    view = ours_table(layout("single-dsol"), docs, params.report)
    row = next(r for r in view.rows if r[0] == "dsol")
    assert row == ["dsol", "world / test", "70.0 ± 10.0 (3 seeds)", "50.0 ± 0.0 (3 seeds)", "40"]
    params.report.spread = "range"  # half of max - min = (80 - 60) / 2 = 10.0 as well; use a skewed set
    docs[2] = doc("dsol", {"dsol@solo": {"ciou@0.5": 0.9, "auc": 0.5, "n": 40}}, seed=2)
    row = next(r for r in ours_table(layout("single-dsol"), docs, params.report).rows if r[0] == "dsol")
    assert row[2] == "73.3 ± 15.0 (3 seeds)"  # mean (60+70+90)/3 = 73.33, half range (90-60)/2 = 15


def test_whole_image_and_centre_prior_are_rows_of_every_localization_table(params):
    docs = [doc("dsol", {"dsol@solo": {"ciou@0.5": 0.5, "auc": 0.5, "n": 4}})]
    for lay in LAYOUTS:
        view = ours_table(lay, docs, params.report)
        names = [r[0] for r in view.rows]
        if lay.localization:
            assert names[:2] == ["whole_image", "centre_prior"], lay.id
            assert view.rows[0][1] == "not run yet"
        else:
            assert "whole_image" not in names


def test_baselines_come_first_then_models_by_name_and_variants_are_rows(params):
    entry = {"consensus@solo": {"ciou@0.5": 0.5, "auc": 0.5, "n": 4}}
    docs = [
        doc("zeta", entry),
        doc("cavl", entry, variant="C2"),
        doc("cavl", entry, variant="C1"),
        doc("centre-prior", entry),
        doc("whole_image", entry),
        doc("random", entry),
    ]
    names = [r[0] for r in ours_table(layout("single-consensus"), docs, params.report).rows]
    assert names == ["random", "whole_image", "centre-prior", "cavl [C1]", "cavl [C2]", "zeta"]


def test_a_subset_key_never_feeds_a_group_without_subset():
    d = doc("m", {"consensus@duet": {"n": 1, "auc": 0.1}, "bss_eval_sources:x@nmix3": {"n": 1}})
    assert match_entry(d, ("consensus",)) is None
    assert match_entry(d, ("bss_eval*@nmix2", "bss_eval*")) is None
    assert match_entry(d, ("bss_eval*@nmix3",)) == {"n": 1}


def test_dataset_and_split_are_part_of_every_row(params):
    entry = {"dsol@solo": {"ciou@0.5": 0.5, "auc": 0.5, "n": 4}}
    docs = [doc("dsol", entry, dataset="world"), doc("dsol", entry, dataset="music", split="val")]
    rows = [r for r in ours_table(layout("single-dsol"), docs, params.report).rows if r[0] == "dsol"]
    assert sorted(r[1] for r in rows) == ["music / val", "world / test"]


def test_separation_table_shows_the_mixture_lower_bound(params):
    entry = {
        "bss_eval_sources:mir_eval:no-permutation@nmix2": {
            "sdr": 6.5,
            "sir": 11.0,
            "sar": 9.0,
            "n": 40,
            "mixture": {"sdr": 0.1, "sir": 0.2, "sar": 40.0},
        }
    }
    rows = ours_table(layout("separation"), [doc("separation", entry, variant="guidance=frame")], params.report).rows
    assert rows[0][:6] == ["separation [guidance=frame]", "world / test", "6.50", "11.00", "9.00", "40"]
    assert rows[1][:5] == ["mixture (input as estimate)", "world / test", "0.10", "0.20", "40.00"]


def test_papers_numbers_stay_in_the_papers_tables(params):
    docs = [doc("dsol", {"dsol-synthetic@cocktail": {"ciou@0.3": 0.111, "auc": 0.222, "nsa": 0.333, "n": 9}})]
    tasks = {t.layout.id: t for t in task_tables(docs, shipped(), params.report)}
    dsol2 = tasks["class-aware-dsol"]
    ours_cells = {c for row in dsol2.ours.rows for c in row}
    paper_cells = {c for p in dsol2.published for row in p.rows for c in row}
    assert "11.1" in ours_cells and "11.1" not in paper_cells
    assert "32.3" in paper_cells and "32.3" not in ours_cells  # DSOL's own CIoU on MUSIC-Synthetic
    assert all(g.startswith("their data: ") for p in dsol2.published for g, _ in p.groups)
    assert dsol2.ours.lead == ["method", "measured on"]


def test_single_source_table_shows_consensus_and_mssl_flickr_side_by_side(params):
    entry = {
        "consensus@solo": {"ciou@0.5": 0.25, "auc": 0.31, "n": 40},
        "mssl-flickr@solo": {"ciou@0.5": 0.55, "auc": 0.42, "n": 40},
    }
    view = ours_table(layout("single-consensus"), [doc("dsol", entry)], params.report)
    assert [g for g, _ in view.groups] == ["solo clips, consensus protocol", "solo clips, mssl-flickr protocol"]
    row = next(r for r in view.rows if r[0] == "dsol")
    assert row == ["dsol", "world / test", "25.0", "31.0", "40", "55.0", "42.0", "40"]
    # A metrics file written before mssl-flickr existed still has its row, the new group empty.
    old = ours_table(
        layout("single-consensus"), [doc("dsol", {"consensus@solo": entry["consensus@solo"]})], params.report
    )
    assert next(r for r in old.rows if r[0] == "dsol")[5:] == ["–", "–", "–"]


def test_dsol_table_shows_both_nsa_and_the_ablations_the_papers_column_only(params):
    entry = {"dsol-synthetic@cocktail": {"ciou@0.3": 0.3, "auc": 0.2, "nsa": 0.95, "nsa_visible": 0.61, "n": 9}}
    main = ours_table(layout("class-aware-dsol"), [doc("dsol", entry)], params.report)
    assert main.columns[:5] == ["CIoU@0.3", "AUC", "NSA", "NSA (visible)", "n"]
    assert next(r for r in main.rows if r[0] == "dsol")[2:7] == ["30.0", "20.0", "95.0", "61.0", "9"]
    ablation = ours_table(layout("ablation-dsol-lambda"), [doc("dsol", entry)], params.report)
    assert ablation.columns[:4] == ["CIoU@0.3", "AUC", "NSA", "n"]
