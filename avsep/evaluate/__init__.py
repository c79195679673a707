"""Evaluation runners: a trained method (or baseline) on a split, scored with :mod:`avsep.metrics`.

- :mod:`avsep.evaluate.runner`: localization and counting tasks, ``reports/metrics/MODEL.json``;
- :mod:`avsep.evaluate.separation_runner`: separation (SDR/SIR/SAR beside the mixture and blind baselines);
- :mod:`avsep.evaluate.overlays`: heatmap overlays for the report;
- :mod:`avsep.evaluate.context`: what the runners share (context, registration, stream, JSON cleaning).

The runners reach a method only through its :class:`avsep.models.method.Method` (docs/architecture.md).
"""
