"""Metrics, each computed as the original papers' code did and reported beside its protocol's name.

- :mod:`avsep.metrics.localization`: cIoU, AUC, class-aware CIoU, NSA, IoU@0.5 and the named protocol bundles
  (``consensus``, ``dsol``, ``dsol-synthetic``, ``dsol-real``, ``mssl``, ``relative:R``);
- :mod:`avsep.metrics.resize`: the bilinear resize (OpenCV semantics) that brings maps to the scoring size;
- :mod:`avsep.metrics.clustering`: NMI of clusters against classes, linear probes of frozen features;
- :mod:`avsep.metrics.counting`: counting accuracy and mean absolute error;
- :mod:`avsep.metrics.separation`: SDR/SIR/SAR (mir_eval ``bss_eval_sources``) and the mixture baseline.

Submodules are imported on use so that importing one metric does not load scikit-learn or mir_eval.
See docs/evaluation.md for the protocols, conventions and edge cases.
"""
