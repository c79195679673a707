"""The model parts methods share; a method package imports these and lower layers, never another method.

- :mod:`~avsep.models.common.backbones`: the ResNet-18 and the pre-trained backbones' loading (:func:`initialised`);
- :mod:`~avsep.models.common.local_weights`: a local torchvision ``resnet18`` file mapped onto that ResNet-18;
- :mod:`~avsep.models.common.streams`: the two-stream vision + audio network of DMC, CAVL and the counter;
- :mod:`~avsep.models.common.clustering`: DMC's multimodal clustering and CAVL's soft k-means;
- :mod:`~avsep.models.common.maps`: per-position vectors, assignment maps, min-max scaling, a centre's map;
- :mod:`~avsep.models.common.inputs`: frames scaled and normalised with ImageNet statistics;
- :mod:`~avsep.models.common.profile`: per-profile values, epoch and step counts, per-part learning rates;
- :mod:`~avsep.models.common.classes`: the dataset's classes (:func:`classes_of`, :func:`with_data_classes`,
  :func:`per_class`) and :func:`multi_hot`.

Batches come from the one batching layer, :mod:`avsep.shards.batching`. Nothing is imported here, so that
importing one part does not import torch and every other part.
"""
