"""The OpenCL backend, one module per concept.

``backend`` (devices as ``DeviceInfo``, the ``OpenCLBackend``: forward,
gradient, buffers), ``layout`` (the packed network layout the kernels read),
``run`` (``DeviceRun``: a training run's state on the device, chunks of
epochs per launch), ``train`` (whole runs: ``DeviceAdvance`` and
``train_many``), ``cascade`` (cascade's fused candidate kernel) and
``kernels`` (the ``.cl`` sources and their builds). Nothing here imports the
training loop: the core drives these pieces (``fannctl.train``,
``fannctl.devices``).
"""
