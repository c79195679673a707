"""Which of avsep's numbers go in which table, in the layout of the papers' tables.

A :class:`Layout` is one task: avsep's side (column groups, each read from the metrics entries whose key
matches one of ``keys``, fnmatch patterns over ``"protocol@subset"``) and the ids of the papers' tables
(``published.yaml``) shown beside it. avsep's dataset and split are a column of every row; the papers' in
``published.yaml``; the two are never in one column.
"""

from __future__ import annotations

from dataclasses import dataclass

PERCENT = 100.0  # avsep stores fractions; the papers print percentages


@dataclass(frozen=True)
class Column:
    metric: str  # key inside a metrics entry, e.g. "ciou@0.5"
    label: str  # header, as the paper prints it
    scale: float = 1.0  # multiply avsep's value by this for display
    unit: str = "percent"  # percent | fraction | dB (chooses the decimals)


@dataclass(frozen=True)
class OursGroup:
    subset: str  # which part of the dataset, in words; the dataset and split are a column of each row
    # fnmatch patterns over metrics keys, tried in order; the first that matches an entry is used. A pattern
    # without "@" matches only keys without a subset, so "consensus" never picks up "consensus@duet".
    keys: tuple[str, ...]
    columns: tuple[Column, ...]


@dataclass(frozen=True)
class Layout:
    id: str
    task: str  # section heading
    title: str
    ours: tuple[OursGroup, ...]
    published: tuple[str, ...] = ()  # table ids in published.yaml
    models: tuple[str, ...] = ()  # fnmatch patterns over model names; empty: every model with a matching entry
    localization: bool = False  # whole image and centre prior are always rows (the "random ciou" trap)
    note: str = ""


def _pct(metric: str, label: str) -> Column:
    return Column(metric, label, PERCENT, "percent")


def _db(metric: str, label: str) -> Column:
    return Column(metric, label, 1.0, "dB")


CIOU_AUC = (_pct("ciou@0.5", "cIoU@0.5"), _pct("auc", "AUC"))
# NSA as DSOL's Eq. 9 (every non-sounding class), the column the paper prints; the ablation tables keep just it.
CLASS_AWARE = (_pct("ciou@0.3", "CIoU@0.3"), _pct("auc", "AUC"), _pct("nsa", "NSA"))
# The main table adds NSA over the visible silent classes: how much of NSA comes from classes not in the frame.
CLASS_AWARE_BOTH_NSA = (*CLASS_AWARE, _pct("nsa_visible", "NSA (visible)"))
COCKTAIL = OursGroup("2×2 cocktail party", ("dsol-synthetic@cocktail",), CLASS_AWARE)
DUETS = OursGroup("duets", ("dsol-real@duet",), CLASS_AWARE)
BSS = (_db("sdr", "SDR"), _db("sir", "SIR"), _db("sar", "SAR"))

LAYOUTS: tuple[Layout, ...] = (
    Layout(
        "single-consensus",
        "Single-source localization",
        "cIoU@0.5 and AUC, the two SoundNet-Flickr binarisations: consensus (LVS: above the median) and "
        "mssl-flickr (MSSL's released test: above 0.5 × max)",
        (
            OursGroup("solo clips, consensus protocol", ("consensus@solo", "consensus"), CIOU_AUC),
            OursGroup("solo clips, mssl-flickr protocol", ("mssl-flickr@solo", "mssl-flickr"), CIOU_AUC),
        ),
        ("cavl-table2", "mssl-table1", "dmc-table3"),
        localization=True,
    ),
    Layout(
        "single-dsol",
        "Single-source localization",
        "IoU@0.5 and AUC, DSOL protocol (pixels > 0.1 × max, union of boxes)",
        (
            OursGroup(
                "solo clips, dsol protocol", ("dsol@solo", "dsol"), (_pct("ciou@0.5", "IoU@0.5"), _pct("auc", "AUC"))
            ),
        ),
        ("dsol-table1a", "dsol-table1b"),
        localization=True,
    ),
    Layout(
        "class-aware-dsol",
        "Class-aware localization of several sounding objects",
        "CIoU@0.3, AUC and NSA (DSOL Table 2 layout; NSA over every non-sounding class as DSOL's Eq. 9, "
        "NSA (visible) over the silent classes in the frame)",
        (
            OursGroup(COCKTAIL.subset, COCKTAIL.keys, CLASS_AWARE_BOTH_NSA),
            OursGroup(DUETS.subset, DUETS.keys, CLASS_AWARE_BOTH_NSA),
        ),
        ("dsol-table2",),
        localization=True,
    ),
    Layout(
        "class-aware-mssl",
        "Class-aware localization of several sounding objects",
        "class-aware cIoU by number of sounding sources (MSSL Table 2 layout)",
        (
            OursGroup("k1 scenes", ("mssl@k1", "relative:0.1@k1"), CIOU_AUC),
            OursGroup("k2 scenes / duets", ("mssl@k2", "mssl@duet"), CIOU_AUC),
            OursGroup("k3 scenes", ("mssl@k3", "relative:0.1@k3"), (_pct("ciou@0.3", "cIoU@0.3"), _pct("auc", "AUC"))),
        ),
        ("mssl-table2",),
        localization=True,
    ),
    Layout(
        "ablation-dsol-lambda",
        "Ablations",
        "DSOL: weight λ of the localization loss (variants of dsol)",
        (COCKTAIL, DUETS),
        ("dsol-table3",),
        models=("dsol*",),
        localization=True,
    ),
    Layout(
        "ablation-dsol-mask",
        "Ablations",
        "DSOL: mask threshold and number of clusters (variants of dsol)",
        (
            OursGroup("solo clips, clusters", ("nmi*@solo", "nmi*"), (Column("nmi", "NMI", 1.0, "fraction"),)),
            OursGroup(
                "solo clips, dsol protocol", ("dsol@solo", "dsol"), (_pct("ciou@0.5", "IoU"), _pct("auc", "AUC"))
            ),
            COCKTAIL,
            DUETS,
        ),
        ("dsol-table4",),
        models=("dsol*",),
        localization=True,
    ),
    Layout(
        "ablation-dsol-stage2",
        "Ablations",
        "DSOL: stage-two loss terms (variants of dsol)",
        (COCKTAIL, DUETS),
        ("dsol-table5",),
        models=("dsol*",),
        localization=True,
    ),
    Layout(
        "audio-probe",
        "Curriculum learning and audio features",
        "Linear-probe accuracy of frozen audio features (CAVL Table 1 / DMC Table 2a)",
        (
            OursGroup(
                "clips, linear probe on audio features",
                ("linear-probe*", "linear-probe*@*"),
                (_pct("accuracy", "Accuracy"),),
            ),
        ),
        ("cavl-table1", "dmc-table2a"),
    ),
    Layout(
        "counting",
        "Counting sound sources",
        "Counting accuracy and MAE on world k-source scenes (no paper published counting numbers)",
        (
            OursGroup(
                "k-source scenes",
                ("counting*", "counting*@*"),
                (_pct("accuracy", "Accuracy"), Column("mae", "MAE", 1.0, "fraction")),
            ),
        ),
    ),
    Layout(
        "separation",
        "Visually guided sound separation",
        "SDR, SIR, SAR (mir_eval, Sound of Pixels protocol)",
        (
            OursGroup("2-source mixtures", ("bss_eval*@nmix2", "bss_eval*"), BSS),
            OursGroup("3-source mixtures", ("bss_eval*@nmix3",), BSS),
        ),
        ("cavl-table3a", "mssl-table3", "cavl-table3b"),
        note="The mixture row is the mixture itself used as every estimate (the lower bound).",
    ),
)


# ---- CAVL experiments (``avsep experiment NAME`` -> reports/experiments/NAME.json) ------------------------------
CURRICULUM = "Curriculum learning and audio features"


@dataclass(frozen=True)
class StatGroup:
    header: str
    entry: str  # key of the group's entry inside a row, e.g. "consensus"; "" when the row itself is the entry
    columns: tuple[Column, ...]  # Column.metric: key of a stat in the entry; "" when the entry is the stat
    count: bool = False  # the entry carries "n" (evaluated clips): an n column after the group's columns


@dataclass(frozen=True)
class ExperimentLayout:
    """One experiment's table in the layout of the paper's table it reproduces."""

    experiment: str  # its "experiment" field (and file stem)
    title: str
    reproduces: str  # the paper's table or figure, in words
    rows_key: str  # "rows" or "runs": the object of row name -> entry
    rows: tuple[tuple[str, str], ...]  # (key in the file, label) in the paper's order; other keys follow
    groups: tuple[StatGroup, ...]
    published: tuple[str, ...] = ()  # published.yaml ids shown beside (already in the report elsewhere: none)
    fills: str = ""  # a Layout id: these rows join that avsep table instead of making one of their own
    chart: bool = False  # the first group's columns drawn as bars with error bars (mean ± spread over seeds)
    baselines_key: str = ""  # deterministic baselines (plain numbers, no seeds) listed first, e.g. "baselines"
    measured: str = ""  # what the numbers are measured on when the file names no split


_ACC = _pct("", "Accuracy")
_RUN_STATS = (
    StatGroup(
        "end of training (and mean over steps)",
        "",
        (
            Column("final_loss", "final loss", 1.0, "fraction"),
            _pct("final_acc", "final accuracy"),
            _pct("mean_acc", "mean accuracy"),
        ),
    ),
)

EXPERIMENT_LAYOUTS: tuple[ExperimentLayout, ...] = (
    ExperimentLayout(
        "probe",
        "Linear-probe accuracy of frozen audio features",
        "CAVL Table 1",
        "rows",
        (
            ("C1", "C1"),
            ("C2(C1) + scene-level alignment", "C2(C1) + scene-level alignment"),
            ("C2(C1) + sound-source-level alignment", "C2(C1) + sound-source-level alignment"),
            ("C1(C2) + sound-source-level alignment", "C1(C2) + sound-source-level alignment"),
        ),
        (StatGroup("instrument class of C1 clips", "", (_ACC,)),),
        fills="audio-probe",
        chart=True,
        measured="held-out split",
    ),
    ExperimentLayout(
        "localization",
        "Single-source localization after each curriculum",
        "CAVL Table 2",
        "rows",
        (("C1", "C1"), ("C1 (unrelated)", "C1 (unrelated)"), ("C2(C1)", "C2(C1)")),
        (
            StatGroup("consensus protocol", "consensus", CIOU_AUC, count=True),
            StatGroup("dsol protocol", "dsol", (_pct("ciou@0.5", "IoU@0.5"), _pct("auc", "AUC")), count=True),
            StatGroup("mssl-flickr protocol", "mssl-flickr", CIOU_AUC, count=True),
        ),
        chart=True,
        baselines_key="baselines",
    ),
    ExperimentLayout(
        "curriculum-effect",
        "Curriculum effect: trained on C1 or on C3",
        "CAVL Fig. 3a",
        "runs",
        (("C1", "C1"), ("C3", "C3")),
        _RUN_STATS,
        measured="training batches",
    ),
    ExperimentLayout(
        "curriculum-order",
        "Curriculum order: C2 then C3, or C3 then C2",
        "CAVL Fig. 3b",
        "runs",
        (("C2-C3", "C2 → C3"), ("C3-C2", "C3 → C2")),
        _RUN_STATS,
        measured="training batches",
    ),
)
