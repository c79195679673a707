"""The papers' claims of the report, checked on hand-made metrics files where each verdict is known."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from avsep.report.claims import CHECKS, check_claims
from avsep.report.collect import MetricsDoc


def doc(stem: str, protocols: dict, split: str = "test") -> MetricsDoc:
    return MetricsDoc(Path(f"reports/metrics/{stem}.json"), stem, split, "world", "", 0, protocols)


def solo(ciou3: float, auc: float, ciou5: float = 0.1) -> dict:
    return {
        "consensus@solo": {"ciou@0.3": ciou3, "ciou@0.5": ciou5, "auc": auc, "n": 10},
        "dsol@solo": {"ciou@0.3": ciou3, "ciou@0.5": ciou5, "auc": auc, "n": 10},
    }


def by_claim(docs, words: str, streams=("motion",)):
    (claim,) = [c for c in check_claims(docs, streams) if words in c.claim]
    return claim


def test_single_source_claim_holds_only_when_every_method_beats_both_priors():
    priors = [doc("whole_image", solo(0.2, 0.25)), doc("centre_prior", solo(0.5, 0.3))]
    good = [doc(s, solo(0.6, 0.35)) for s in ("dmc", "cavl", "mssl", "dsol")]
    claim = by_claim(priors + good, "whole image and the centre prior")
    assert claim.holds is True and "0.600 / 0.350" in claim.here
    # one method below the centre prior on AUC only is enough to fail, and the row names it
    weak = good[:3] + [doc("dsol", solo(0.6, 0.29))]
    claim = by_claim(priors + weak, "whole image and the centre prior")
    assert claim.holds is False and "DSOL ≤ best rival on auc" in claim.here
    assert claim.row()["verdict"] == "fails"


def test_a_missing_metrics_file_reads_not_measured_never_fails():
    priors = [doc("whole_image", solo(0.2, 0.25)), doc("centre_prior", solo(0.5, 0.3))]
    partial = [doc(s, solo(0.6, 0.35)) for s in ("dmc", "cavl", "mssl")]  # no dsol.json yet
    claim = by_claim(priors + partial, "whole image and the centre prior")
    assert claim.holds is None and "dsol" in claim.here and claim.row()["verdict"] == "not measured"
    # a file of another split does not stand in for the test split's
    claim = by_claim(priors + partial + [doc("dsol", solo(0.9, 0.9), split="val")], "centre prior")
    assert claim.holds is None


def sep(sdr: float, mixture: float = 0.1) -> dict:
    return {"bss_eval@nmix2": {"sdr": sdr, "n": 24, "mixture": {"sdr": mixture}}}


def separation_docs(frame=2.0, obj=6.0, audio=1.0, gradcam=-1.0, nmf=0.9, ibm=20.0) -> list[MetricsDoc]:
    return [
        doc("separation", sep(frame)),
        doc("separation-object", sep(obj)),
        doc("separation-audio", sep(audio)),
        doc("separation-gradcam", sep(gradcam)),
        doc("separation-nmf-mfcc", sep(nmf)),
        doc("separation-ibm", sep(ibm)),
        doc("separation-irm", sep(ibm - 1)),
    ]


def test_separation_claims_follow_the_sdrs():
    # MSSL Table 3's shape: object > audio > Grad-CAM, frame above NMF-MFCC, best 5.9 dB over the mixture;
    # Grad-CAM below the mixture breaks "every guided model above the mixture"
    docs = separation_docs()
    assert by_claim(docs, "Grad-CAM masks").holds is True
    assert by_claim(docs, "above NMF-MFCC").holds is True
    assert by_claim(docs, "at least 3 dB").holds is True
    assert by_claim(docs, "every guided model above the mixture").holds is False
    docs = separation_docs(gradcam=0.5, audio=0.4, frame=0.3, nmf=8.0, obj=1.0)
    assert by_claim(docs, "Grad-CAM masks").holds is False
    assert by_claim(docs, "above NMF-MFCC").holds is False
    assert by_claim(docs, "at least 3 dB").holds is False
    assert by_claim(docs, "every guided model above the mixture").holds is True


def test_the_counter_claim_needs_an_audiovisual_counter():
    counting = [doc("counting", {"counting:cap4@kscenes": {"accuracy": 0.9, "mae": 0.1, "n": 40}})]
    assert by_claim(counting, "counter", ("motion",)).holds is False
    assert by_claim(counting, "counter", ("visual", "audio")).holds is True
    low = [doc("counting", {"counting:cap4@kscenes": {"accuracy": 0.8, "mae": 0.2, "n": 40}})]
    assert by_claim(low, "counter", ("visual", "audio")).holds is False


REPO = Path(__file__).resolve().parents[2]
PAPERS = Path(os.environ.get("AVSEP_PAPERS_DIR", REPO.parent / "shared" / "papers"))
TEXTS = {"DMC": "dmc-*.txt", "CAVL": "cavl-*.txt", "MSSL": "mssl-*.txt", "DSOL": "dsol-*.txt"}


@pytest.mark.skipif(not PAPERS.is_dir(), reason=f"papers' text not found at {PAPERS} (set AVSEP_PAPERS_DIR)")
def test_every_number_a_claim_quotes_is_in_the_papers_it_names():
    for _, claim, paper, _, _ in CHECKS:
        named = [k for k in TEXTS if k in paper.split(":")[0]]
        assert named, f"{claim!r}: the paper column names no paper"
        text = "".join(p.read_text(encoding="utf-8") for k in named for p in PAPERS.glob(TEXTS[k]))
        for number in re.findall(r"−?\d+\.\d+", paper):
            assert number.replace("−", "-") in text, f"{claim!r}: {number} is not in {named}'s text"


def _write_metrics(folder: Path, accuracy: float) -> Path:
    import json

    folder.mkdir(parents=True)
    entry = {"accuracy": accuracy, "mae": 1 - accuracy, "n": 40}
    doc = {
        "model": "counting",
        "split": "test",
        "dataset": "world",
        "seed": 0,
        "protocols": {"counting:cap4@kscenes": entry},
    }
    (folder / "counting.json").write_text(json.dumps(doc), encoding="utf-8")
    return folder


def test_the_claims_command_gives_each_claims_spread_over_runs(tmp_path, capsys, monkeypatch):
    import json

    from avsep.cli import main

    monkeypatch.chdir(REPO)  # params.yaml: the demo's counter reads motion only
    one, two = _write_metrics(tmp_path / "seed0", 0.9), _write_metrics(tmp_path / "seed1", 0.8)
    assert main(["claims", str(one), str(two), "--json", str(tmp_path / "claims.json")]) == 0
    rows = {r["claim"].split(" ")[0]: r for r in json.loads((tmp_path / "claims.json").read_text(encoding="utf-8"))}
    counter = rows["an"]
    assert counter["holds in"] == "0 of 2 runs" and counter["mean ± sd"] == "accuracy 0.850 ± 0.071"
    assert rows["DSOL"]["holds in"] == "0 of 0 runs (2 not measured)"
    assert "| counting |" in capsys.readouterr().out
    # with the paper's audiovisual counter the same accuracies hold once
    assert main(["claims", str(one), str(two), "--set", "profile=paper", "--json", str(tmp_path / "p.json")]) == 0
    rows = json.loads((tmp_path / "p.json").read_text(encoding="utf-8"))
    assert [r["holds in"] for r in rows if r["area"] == "counting"] == ["1 of 2 runs"]
    assert main(["claims", str(tmp_path / "nowhere")]) == 2
    assert "no such metrics folder" in capsys.readouterr().err
