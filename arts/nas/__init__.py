"""ENAS (Pham et al. 2018) on type-checked search spaces: the NeuralArTS paper's experiments.

* :mod:`arts.nas.spaces` -- the named spaces (S0, 3a-3G, T1-*), space files, the type checks run
  before a weight is allocated, and the shape oracle behind compatibility masking (no torch).
* :mod:`arts.nas.data` -- digits (embedded), CIFAR-10 python batches, synthetic data.
* :mod:`arts.nas.controller`, :mod:`arts.nas.child` -- the LSTM controller and the shared child network.
* :mod:`arts.nas.search`, :mod:`arts.nas.train`, :mod:`arts.nas.experiment` -- search with weight
  sharing, retraining from scratch, grids of runs.
* :mod:`arts.nas.commands` -- the ``arts spaces | search | train | experiment`` verbs.

Only :mod:`arts.nas.spaces` and :mod:`arts.nas.commands` may be imported without torch.  See
``docs/nas.md``.
"""
