"""The papers' claims, checked on the report's own metrics files.

Each claim is one row: what the paper says (with its number, on its dataset), what avsep measured on the
metrics files named by their stems (``dmc`` is ``reports/metrics/dmc.json``), whether the claim holds here,
and the page where a failure is diagnosed. A claim whose metrics file or entry is missing reads "not measured"
instead of failing, so a partial ``dvc repro`` gives a partial table, never a wrong verdict.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from avsep.report.collect import MetricsDoc

SOLO, DSOL_SOLO, COCKTAIL, NMIX2 = "consensus@solo", "dsol@solo", "dsol-synthetic@cocktail", "bss_eval@nmix2"
LOCALIZERS = {"dmc": "DMC", "cavl": "CAVL", "mssl": "MSSL", "dsol": "DSOL"}
PRIORS = {"whole_image": "whole image", "centre_prior": "centre prior"}
DSOL_RIVALS = {"sop": "Sound of Pixels", "avc": "AVC", "attention": "attention", "dmc": "DMC"}
CLASS_AWARE = {"mssl": "MSSL", "dsol": "DSOL"}
CLASS_AGNOSTIC = {
    "avc": "AVC",
    "attention": "attention",
    "dmc": "DMC",
    "sop": "Sound of Pixels",
    "whole_image": "whole image",
    "centre_prior": "centre prior",
}
GUIDED = {
    "separation": "frame",
    "separation-object": "object",
    "separation-audio": "audio (oracle)",
    "separation-gradcam": "Grad-CAM (oracle)",
}
IDEAL = {"separation-ibm": "ideal binary mask", "separation-irm": "ideal ratio mask"}


@dataclass(frozen=True)
class Claim:
    area: str
    claim: str
    paper: str  # the paper's number, on the paper's dataset
    here: str  # avsep's numbers on the report's metrics
    holds: bool | None  # None: not measured (a metrics file or entry is missing)
    diagnosis: str  # where a failure is explained
    values: dict[str, float] = field(default_factory=dict)  # the numbers the verdict read, by label

    def row(self) -> dict[str, str]:
        verdict = {True: "holds", False: "fails", None: "not measured"}[self.holds]
        return {
            "area": self.area,
            "claim": self.claim,
            "paper": self.paper,
            "here": self.here,
            "verdict": verdict,
            "diagnosis": self.diagnosis,
        }


class _Missing(LookupError):
    pass


class _Metrics:
    """Test-split, default-configuration metrics files by stem."""

    def __init__(self, docs: list[MetricsDoc]):
        self.docs = {d.path.stem: d for d in docs if d.split == "test"}

    def get(self, stem: str, protocol: str, metric: str) -> float:
        doc = self.docs.get(stem)
        value = None if doc is None else doc.protocols.get(protocol, {}).get(metric)
        if not isinstance(value, (int, float)):
            raise _Missing(f"{stem}:{protocol}:{metric}")
        return float(value)


def _fmt(values: dict[str, tuple[float, ...]]) -> str:
    return "; ".join(f"{name} {' / '.join(f'{v:.3f}' for v in vs)}" for name, vs in values.items())


def _above(models: dict[str, str], rivals: dict[str, str], protocol: str, metrics: tuple[str, ...], m: _Metrics):
    """(here, holds): every model above every rival on every metric, and the pairs where it is not."""
    ours = {name: tuple(m.get(stem, protocol, k) for k in metrics) for stem, name in models.items()}
    theirs = {name: tuple(m.get(stem, protocol, k) for k in metrics) for stem, name in rivals.items()}
    best = tuple(max(vs[i] for vs in theirs.values()) for i in range(len(metrics)))
    behind = [
        f"{name} ≤ best rival on {k}" for name, vs in ours.items() for k, v, b in zip(metrics, vs, best) if v <= b
    ]
    here = f"{_fmt(ours)} against {_fmt(theirs)} ({' / '.join(metrics)})"
    values = {f"{name} {k}": v for name, vs in ours.items() for k, v in zip(metrics, vs)}
    values |= {f"best rival {k}": b for k, b in zip(metrics, best)}
    return here + (f"; {', '.join(behind)}" if behind else ""), not behind, values


def _single_source(m: _Metrics):
    return _above(LOCALIZERS, PRIORS, SOLO, ("ciou@0.3", "auc"), m)


def _dsol_protocol(m: _Metrics):
    return _above({"dsol": "DSOL"}, DSOL_RIVALS, DSOL_SOLO, ("ciou@0.5", "auc"), m)


def _cocktail(m: _Metrics):
    return _above(CLASS_AWARE, CLASS_AGNOSTIC, COCKTAIL, ("ciou@0.3", "auc", "nsa"), m)


def _sdr(m: _Metrics, stems: dict[str, str]) -> dict[str, float]:
    return {name: m.get(stem, NMIX2, "sdr") for stem, name in stems.items()}


def _mixture(m: _Metrics) -> float:
    doc = m.docs.get("separation-ibm")
    mixture = None if doc is None else doc.protocols.get(NMIX2, {}).get("mixture", {})
    if not isinstance(mixture, dict) or not isinstance(mixture.get("sdr"), (int, float)):
        raise _Missing("separation-ibm:mixture")
    return float(mixture["sdr"])


def _sdr_text(values: dict[str, float]) -> str:
    return ", ".join(f"{k} {v:.2f}" for k, v in values.items())


def _separation_order(m: _Metrics):
    guided, ideal, mixture = _sdr(m, GUIDED), _sdr(m, IDEAL), _mixture(m)
    holds = min(ideal.values()) > max(guided.values()) and min(guided.values()) > mixture
    values = {**ideal, **guided, "mixture": mixture}
    return f"{_sdr_text(ideal)}; guided {_sdr_text(guided)}; mixture {mixture:.2f} dB", holds, values


def _three_db(m: _Metrics):
    guided, mixture = _sdr(m, GUIDED), _mixture(m)
    name, best = max(guided.items(), key=lambda kv: kv[1])
    here = f"best guided: {name} {best:.2f} dB, {best - mixture:+.2f} dB over the mixture ({mixture:.2f})"
    return here, best - mixture >= 3.0, {"best guided over the mixture": best - mixture}


def _frame_over_nmf(m: _Metrics):
    frame, nmf = m.get("separation", NMIX2, "sdr"), m.get("separation-nmf-mfcc", NMIX2, "sdr")
    return f"frame-guided {frame:.2f} dB, NMF-MFCC {nmf:.2f} dB", frame > nmf, {"frame": frame, "NMF-MFCC": nmf}


def _guidance_order(m: _Metrics):
    order = {"object": "separation-object", "audio": "separation-audio", "Grad-CAM": "separation-gradcam"}
    values = {name: m.get(stem, NMIX2, "sdr") for name, stem in order.items()}
    ranked = list(values.values())
    return _sdr_text(values) + " dB", ranked[0] > ranked[1] > ranked[2], values


def _counter(m: _Metrics, streams: tuple[str, ...]):
    accuracy = m.get("counting", "counting:cap4@kscenes", "accuracy")
    audiovisual = "audio" in streams and ("visual" in streams or "motion" in streams)
    reads = " + ".join(streams)
    here = f"{accuracy:.3f} on the k-source scenes, a counter reading {reads}"
    return here, accuracy >= 0.85 and audiovisual, {"accuracy": accuracy}


CHECKS: list[tuple[str, str, str, str, Callable]] = [
    (
        "localization",
        "DMC, CAVL, MSSL and DSOL above the whole image and the centre prior on single-source maps "
        "(consensus cIoU@0.3 and AUC)",
        "DMC Table 3 (SoundNet-Flickr): DMC 67.1 cIoU@0.5 / 56.8 AUC against random 12.0 / 32.3",
        "docs/models/dsol.md (DSOL's solo maps)",
        _single_source,
    ),
    (
        "localization",
        "DSOL above Sound of Pixels, AVC, attention and DMC under its own protocol (cIoU@0.5, AUC)",
        "DSOL Table 1a (MUSIC-solo): DSOL 51.4 / 43.6 against at best 40.5 / 43.3 (Sound of Pixels)",
        "docs/models/dsol.md",
        _dsol_protocol,
    ),
    (
        "localization",
        "MSSL and DSOL above every class-agnostic method on the cocktail party (class-aware cIoU@0.3, AUC, NSA)",
        "DSOL Table 2 (MUSIC-Synthetic): DSOL 32.3 / 23.5 / 98.5 against at best 8.1 / 16.3 / 97.2",
        "docs/models/dsol.md, docs/evaluation.md (NSA)",
        _cocktail,
    ),
    (
        "separation",
        "ideal masks above every guided model, every guided model above the mixture (SDR, two-source mixtures)",
        "CAVL Table 3a, MSSL Table 3 (MUSIC): Sound of Pixels 7.30 dB, NMF-MFCC 0.92",
        "docs/models/separation.md",
        _separation_order,
    ),
    (
        "separation",
        "the best guided model at least 3 dB above the mixture",
        "CAVL Table 3a (MUSIC): Sound of Pixels 7.30 dB, Co-Separation 7.38",
        "docs/models/separation.md",
        _three_db,
    ),
    (
        "separation",
        "the frame-guided Sound of Pixels above NMF-MFCC",
        "CAVL Table 3a (MUSIC): 7.30 dB against 0.92",
        "docs/models/separation.md",
        _frame_over_nmf,
    ),
    (
        "separation",
        "visual (object) guidance above audio guidance above Grad-CAM masks",
        "MSSL Table 3 (MUSIC): 6.53, −1.16, −2.78 dB",
        "docs/models/separation.md",
        _guidance_order,
    ),
]


def check_claims(docs: list[MetricsDoc], counter_streams: tuple[str, ...] = ()) -> list[Claim]:
    """Every claim of :data:`CHECKS`, then the counter's, on ``docs`` (the report's metrics files)."""
    m = _Metrics(docs)
    checks = list(CHECKS) + [
        (
            "counting",
            "an audiovisual counter names the number of sources of at least 85 % of the k-source scenes",
            "CAVL §2.2 counts sources with an audiovisual Poisson regression (no accuracy published; 0.85 is "
            "avsep's goal)",
            "docs/models/cavl.md (the counter)",
            lambda m: _counter(m, counter_streams),
        )
    ]
    claims = []
    for area, claim, paper, diagnosis, check in checks:
        values: dict[str, float] = {}
        try:
            here, holds, values = check(m)
        except _Missing as missing:
            here, holds = f"not measured: no {missing.args[0]}", None
        claims.append(Claim(area, claim, paper, here, holds, diagnosis, values))
    return claims


def spread(runs: list[list[Claim]]) -> list[dict[str, str]]:
    """One row per claim over several runs of :func:`check_claims` (seeds, machines): how many runs it holds
    in, and each number it read as mean ± sample sd (n runs)."""
    rows = []
    for claims in zip(*runs):
        first = claims[0]
        measured = [c for c in claims if c.holds is not None]
        labels = list(dict.fromkeys(k for c in measured for k in c.values))
        numbers = []
        for label in labels:
            xs = [c.values[label] for c in measured if label in c.values]
            mean = sum(xs) / len(xs)
            sd = (sum((x - mean) ** 2 for x in xs) / (len(xs) - 1)) ** 0.5 if len(xs) > 1 else float("nan")
            numbers.append(f"{label} {mean:.3f} ± {sd:.3f}")
        rows.append(
            {
                "area": first.area,
                "claim": first.claim,
                "paper": first.paper,
                "holds in": f"{sum(bool(c.holds) for c in claims)} of {len(measured)} runs"
                + (f" ({len(claims) - len(measured)} not measured)" if len(measured) < len(claims) else ""),
                "mean ± sd": "; ".join(numbers),
            }
        )
    return rows


__all__ = ["CHECKS", "Claim", "check_claims", "spread"]
