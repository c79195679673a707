"""Baselines every localization model is shown beside, evaluated by the same runner (``avsep evaluate``).

Each is a method module (the contract of :mod:`avsep.models`), registered by name in ``avsep.models.METHODS``:

| name | module | weights | map |
| --- | --- | --- | --- |
| ``random`` | :mod:`.random_map` | none | uniform noise on a ``grid``×``grid`` grid, seeded by (seed, clip key) |
| ``whole_image`` | :mod:`.whole_image` | none | a constant map: every pixel predicted (the "random cIoU" trap) |
| ``centre_prior`` | :mod:`.centre_prior` | none | a Gaussian at the frame centre, std ``centre_sigma`` × side |
| ``avc`` | :mod:`.avc` | trained | Objects that Sound (AVOL-Net): cosine of the audio embedding with each position |
| ``attention`` | :mod:`.attention` | trained | Senocak et al.: softmax attention of the audio over visual positions |
| ``sop`` | :mod:`.sound_of_pixels` | the separation model's | Sound of Pixels: mixture energy under each pixel's mask |

All six are class-agnostic: for the class-aware task they give the same map for every class, so their
class-aware CIoU measures where sound is, not which instrument makes it, and their NSA is that of the one map.
Each module declares ``METHOD`` (:class:`avsep.models.method.Method`); those without weights have
``weights=False`` and the runner loads no checkpoint. ``sop`` trains nothing and names the checkpoint it reads
(``weights_from = ("separation", "frame")``).
"""
